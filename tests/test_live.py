"""The live page's contents, without a browser: the spec's float32 values carried exactly,
nothing fetched, and its place in the gallery (build --no-live, animation_url)."""

import json
import random
import re

import numpy as np
import pytest

from generator import live, rng, site
from generator.cli import main
from generator.theme import Theme
from tests.conftest import make_spec
from tests.test_site import TINY, make_record


def carried(html: bytes) -> dict:
    """The spec JSON a live page carries."""
    text = html.decode()
    match = re.search(r'<script type="application/json" id="attnart-spec">(.*?)</script>',
                      text, re.S)
    return json.loads(match.group(1))


def as_float32(words) -> np.ndarray:
    return np.array(words, dtype=np.uint32).view(np.float32)


@pytest.mark.parametrize("init", ["shared", "per-point"])
def test_page_carries_every_float32_value_bit_for_bit(init):
    draw = random.Random(26)
    for _ in range(3):
        spec = make_spec(seed=draw.randrange(2**64), init=init, points=draw.randrange(2, 40),
                         threshold=draw.uniform(1e-7, 1e-3),
                         window=(-draw.uniform(0.1, 8), draw.uniform(0.1, 8), -3.3, 1.7))
        data, draws = carried(live.page(spec)), rng.draw(spec)
        assert as_float32(data["wq"]).tobytes() == draws.wq.astype(np.float32).tobytes()
        assert as_float32(data["wv"]).tobytes() == draws.wv.astype(np.float32).tobytes()
        assert as_float32([data["threshold"]])[0] == np.float32(spec.threshold)
        assert data["seedWords"][0] + (data["seedWords"][1] << 32) == spec.seed
        assert data["window"] == list(spec.window) and data["points"] == spec.points
        if init == "shared":  # the unit rows every grid point starts from, as render's
            x0 = rng.unit_rows(draws.initial(0, 1, "cpu"))
            assert as_float32(data["x0"]).tobytes() == x0.tobytes()
        else:  # the X(0) draw follows W_Q's and W_V's on the stream
            assert "x0" not in data and data["cuda"]["offset"] == 8


def test_given_matrices_replace_the_drawn_ones():
    spec = make_spec(wq=(0.1, -2.0, 3.5, 1e-30), wv="identity")
    data = carried(live.page(spec))
    assert as_float32(data["wq"]).tolist() == np.float32([0.1, -2.0, 3.5, 1e-30]).tolist()
    assert as_float32(data["wv"]).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_page_is_one_file_that_fetches_nothing():
    html = live.page(make_spec(title='A "quoted" </script> title')).decode()
    assert not re.search(r'\s(src|href)=', html)  # no script, style or image to load
    assert "://" not in html
    assert html.lower().count("</script") == html.lower().count("<script")
    assert carried(html.encode())["title"] == 'A "quoted" </script> title'


@pytest.mark.parametrize("overrides, says", [({"points": live.MAX_POINTS + 1}, "points"),
                                             ({"init": "per-point", "rng": "cpu"}, "CPU")])
def test_what_the_browser_cannot_draw_shows_the_still_and_says_why(overrides, says):
    data = carried(live.page(make_spec(**overrides), still="../images/x-large.png"))
    assert says in data["unsupported"] and data["still"] == "../images/x-large.png"
    assert live.unsupported(make_spec()) == ""


def test_live_page_is_the_animation_url_and_a_video_moves_to_video_url():
    plain, moving, old = (make_record(make_spec(seed=s, **TINY)) for s in (1, 2, 3))
    plain["live"] = site.artwork_files(plain["meta"]["id"])["live"]
    moving |= {"live": site.artwork_files(moving["meta"]["id"])["live"],
               "video": "videos/x.mp4"}
    old["video"] = "videos/y.mp4"  # a build with --no-live keeps the video there
    arts = site.build_context([plain, moving, old], base_url="https://e.org/a/")["artworks"]
    assert arts[0]["metadata"]["animation_url"] == f"https://e.org/a/live/{arts[0]['id']}.html"
    assert "video_url" not in arts[0]["metadata"]
    assert arts[1]["metadata"]["animation_url"].endswith(f"live/{arts[1]['id']}.html")
    assert arts[1]["metadata"]["video_url"] == "https://e.org/a/videos/x.mp4"
    assert arts[2]["metadata"]["animation_url"] == "https://e.org/a/videos/y.mp4"


def test_planned_files_hold_live_pages_unless_left_out():
    spec = make_spec(**TINY)
    page = f"live/{spec.id}.html"
    assert page in site._planned([spec], Theme(), None, False)
    assert page not in site._planned([spec], Theme(), None, False, live_pages=False)


def test_build_writes_live_pages_and_no_live_removes_them(tmp_path):
    seeds = tmp_path / "seeds.toml"
    seeds.write_text("[[artwork]]\nseed = 5\n")
    out = tmp_path / "site"
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--resolution", "32",
            "--iterations", "10", "--init", "shared", "--device", "cpu", "--quiet",
            "--cache", str(tmp_path / "cache")]
    assert main(args) == 0
    (page,) = (out / "live").glob("*.html")
    aid = page.stem
    data = carried(page.read_bytes())
    assert data["id"] == aid and (page.parent / data["still"]).is_file()
    assert {"Structure", "Tone", "Seed"} <= data["features"].keys()
    assert f'href="../live/{aid}.html"' in (out / "artworks" / f"{aid}.html").read_text()
    meta = json.loads((out / "metadata" / f"{aid}.json").read_text())
    assert (out / "metadata" / meta["animation_url"]).resolve() == page.resolve()
    assert main(args + ["--no-live"]) == 0
    assert not page.exists()
    assert "animation_url" not in json.loads((out / "metadata" / f"{aid}.json").read_text())
    assert f"../live/{aid}.html" not in (out / "artworks" / f"{aid}.html").read_text()


def test_export_token_writes_index_and_script_and_keeps_others_files(tmp_path, capsys):
    out = tmp_path / "token"
    args = ["export-token", "77", "--init", "per-point", "--points", "8", "--platform",
            "artblocks", "-o", str(out), "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "live.js"]
    script = (out / "live.js").read_text()
    data = json.loads(script.split("window.ATTNART_SPEC = ", 1)[1].split(";\n", 1)[0])
    assert data["token"] == "artblocks" and data["seed"] == "77" and "wq" not in data
    assert '<script src="live.js"></script>' in (out / "index.html").read_text()
    assert main(args) == 0  # its own files, replaced
    (out / "index.html").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2
    assert "was not written by attnart export-token" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "mine"
    assert main(args + ["--force"]) == 0


@pytest.mark.parametrize("extra, says", [(["--rng", "cpu"], "use --rng cuda"),
                                         (["--points", "200"], "lower --points")])
def test_export_token_refuses_what_a_browser_cannot_draw(tmp_path, capsys, extra, says):
    assert main(["export-token", "5", "-o", str(tmp_path / "t"), *extra]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and not (tmp_path / "t").exists()
