"""The live page in Chromium's software WebGL2 (SwiftShader): its labels against `render`'s.

Small T and n keep each 128² page within a few seconds in software; the agreement measured
at the default T = 100, n = 20 is benchmarks/live_page.py's.
"""

import json
import random

import numpy as np
import pytest

from generator import live, rng
from generator.render import render_image
from tests.conftest import make_spec

SIDE = 128
FAST = {"iterations": 20, "points": 6, "resolution": SIDE}
SEEDS = random.Random(26).sample(range(2**40), 2)  # fixed draws: a failure can be re-run


def open_page(browser, tmp_path, spec, query=f"?resolution={SIDE}"):
    """The live page of `spec` loaded from file:// until it says it is done; also returns
    every URL it asked for."""
    path = tmp_path / f"{spec.id}.html"
    path.write_bytes(live.page(spec))
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri() + query)
    page.wait_for_function("document.documentElement.dataset.rendered !== 'false'",
                           timeout=60_000, polling=50)
    return page, requests


def canvas_labels(page) -> np.ndarray:
    """The canvas's pixels read back, as render's PNG shows labels: (side, side) bool."""
    side, pixels = page.evaluate("""() => {
        const c = document.getElementById('art');
        return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width,
                                                                    c.height).data)];
    }""")
    return np.array(pixels, dtype=np.uint8).reshape(side, side, 4)[..., 0] > 127


def reference(spec) -> np.ndarray:
    """`attnart render`'s image of `spec`, as labels: True where white."""
    return np.asarray(render_image(spec, rng.draw(spec), device="cpu")[1]) > 127


@pytest.mark.parametrize("init, agreement", [("shared", 0.995), ("per-point", 0.99)])
@pytest.mark.parametrize("seed", SEEDS)
def test_labels_agree_with_render(browser, tmp_path, seed, init, agreement):
    spec = make_spec(seed=seed, init=init, **FAST)
    page, requests = open_page(browser, tmp_path, spec)
    assert page.evaluate("document.documentElement.dataset.rendered") == "true"
    got, want = canvas_labels(page), reference(spec)
    assert got.shape == want.shape == (SIDE, SIDE)
    assert (got == want).mean() >= agreement, (got == want).mean()
    assert 0 < want.mean() < 1  # both classes present: the orientation is tested too
    assert np.array_equal(np.array(page.evaluate("window.attnartLive.labels()"), dtype=bool),
                          got.ravel())
    assert all(url.startswith("file://") for url in requests), requests  # nothing outside
    page.close()


def test_window_in_the_url_renders_that_window(browser, tmp_path):
    spec = make_spec(seed=SEEDS[0], **FAST)
    zoomed = make_spec(seed=SEEDS[0], **FAST | {"window": (-2.0, 3.0, 0.5, 4.0)})
    page, _ = open_page(browser, tmp_path, spec, f"?resolution={SIDE}&window=-2,3,0.5,4")
    assert (canvas_labels(page) == reference(zoomed)).mean() >= 0.995
    page.close()


@pytest.mark.parametrize("query, says", [("?resolution=0", "resolution must be"),
                                         ("?window=1,0,0,1", "window needs"),
                                         ("?shade=loud", "shade must be")])
def test_bad_query_says_why(browser, tmp_path, query, says):
    page, _ = open_page(browser, tmp_path, make_spec(**FAST), query)
    assert page.evaluate("document.documentElement.dataset.rendered") == "failed"
    assert says in page.text_content("#message")
    page.close()


BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@pytest.mark.parametrize("platform, init", [("artblocks", "per-point"), ("fxhash", "shared")])
def test_token_renders_the_seed_its_platform_hash_gives(browser, tmp_path, platform, init):
    draw = random.Random(f"{platform}-26")
    spec = make_spec(seed=11, init=init, **FAST)
    for name, data in live.token_files(spec, platform).items():
        (tmp_path / name).write_bytes(data)
    page = browser.new_page()
    query = f"?resolution={SIDE}"
    if platform == "artblocks":  # the first 64 bits of tokenData.hash
        token = "0x" + "".join(draw.choice("0123456789abcdef") for _ in range(64))
        page.add_init_script(f"window.tokenData = {{hash: '{token}', tokenId: '1'}}")
        seed = int(token[2:18], 16)
    else:  # fxhash's base58 hash, from the URL as its snippet reads it, mod 2^64
        token = "oo" + "".join(draw.choice(BASE58) for _ in range(49))
        query += f"&fxhash={token}"
        seed = 0
        for digit in token:
            seed = seed * 58 + BASE58.index(digit)
        seed %= 2**64
    page.goto((tmp_path / "index.html").as_uri() + query)
    page.wait_for_function("document.documentElement.dataset.rendered !== 'false'",
                           timeout=60_000, polling=50)
    assert page.evaluate("document.documentElement.dataset.rendered") == "true"
    twin = make_spec(seed=seed, init=init, **FAST)
    drawn = page.evaluate("window.ATTNART_SPEC")  # the script drew W_Q, W_V (X(0)) itself
    assert [drawn[k] for k in ("wq", "wv")] == [live.spec_data(twin)[k] for k in ("wq", "wv")]
    if init == "shared":
        assert drawn["x0"] == live.spec_data(twin)["x0"]
    assert (canvas_labels(page) == reference(twin)).mean() >= 0.99
    page.close()


def test_shader_draws_x0_as_the_cuda_stream_does(browser, tmp_path):
    """Philox in 16-bit limbs is exact; only float32 log, sqrt and sin/cos round apart from
    CUDA's (as generator.rng emulates them), by a few units in the last place."""
    spec = make_spec(seed=SEEDS[1], init="per-point", **FAST)
    page, _ = open_page(browser, tmp_path, spec, "?resolution=16")
    start, count = 7 * 2 * spec.points, 4096  # from grid point 7: not aligned to anything
    got = np.array(page.evaluate(f"window.attnartLive.draws({SIDE}, {start}, {count})"),
                   dtype=np.float32)
    points = count // (2 * spec.points)
    want = rng.draw(spec).initial(7, 7 + points, "cpu").reshape(-1)
    got = got[:want.size]
    assert np.abs(got - want).max() <= 1e-5  # measured: 2.2e-6, a few ulps at |x| ~ 4
    assert np.mean(got == want) > 0.25  # measured: a third bit for bit
    page.close()


def palette_index(image: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Each pixel's position in the palette (H, W, 3) -> (H, W); -1 where none."""
    keys = colours.astype(np.int64) @ np.array([65536, 256, 1])
    pixels = image[..., :3].astype(np.int64) @ np.array([65536, 256, 1])
    found = np.full(pixels.shape, -1)
    for i, key in enumerate(keys):  # the first match, as a palette may repeat a colour
        found[(pixels == key) & (found < 0)] = i
    return found


def test_speed_shade_classes_equal_and_colours_within_a_step(browser, tmp_path):
    pytest.importorskip("colorcet")
    from generator import shade

    spec = make_spec(seed=SEEDS[0], shade="speed", palette="bmy", **FAST)
    page, _ = open_page(browser, tmp_path, spec)
    side, pixels = page.evaluate("""() => {
        const c = document.getElementById('art');
        return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width,
                                                                    c.height).data)];
    }""")
    colours = shade.rgb("bmy")
    got = palette_index(np.array(pixels, dtype=np.uint8).reshape(side, side, 4), colours)
    want = palette_index(np.asarray(render_image(spec, rng.draw(spec), device="cpu")[1]),
                         colours)
    assert (got >= 0).all()
    upper = len(colours) // 2
    assert ((got > upper) == (want > upper)).mean() >= 0.995  # the classes
    assert (np.abs(got - want) <= 1).mean() >= 0.99  # the colours, within a palette step
    page.close()


def wait_rendered(page):
    page.wait_for_function("document.documentElement.dataset.rendered === 'true'",
                           timeout=60_000, polling=50)


def url_window(page) -> tuple[float, ...]:
    return tuple(float(v) for v in page.evaluate(
        "new URLSearchParams(location.search).get('window')").split(","))


def test_wheel_and_drag_move_the_view_and_its_link_opens_it(browser, tmp_path):
    spec = make_spec(seed=SEEDS[1], **FAST)
    page, _ = open_page(browser, tmp_path, spec, "?resolution=64")
    box = page.locator("#art").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    page.mouse.wheel(0, -300)  # zoom in twofold about the point under the pointer
    page.wait_for_function("new URLSearchParams(location.search).has('window')")
    wait_rendered(page)
    amin, amax, bmin, bmax = url_window(page)
    assert amax - amin == pytest.approx(8) and bmax - bmin == pytest.approx(8)
    # (a, b) = (4, 4) stays under the pointer
    assert (amin, bmin) == (pytest.approx(-2, abs=0.05), pytest.approx(-2, abs=0.05))
    zoomed = make_spec(seed=SEEDS[1], **FAST | {"resolution": 64,
                                                "window": url_window(page)})
    assert (canvas_labels(page) == reference(zoomed)).mean() >= 0.995
    before = page.url
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 4, box["y"] + box["height"] / 2, steps=3)
    page.mouse.up()  # dragged left by a quarter: the view moves right by a quarter in b
    page.wait_for_function(f"location.href !== {json.dumps(before)}")
    wait_rendered(page)
    moved = url_window(page)
    assert moved[:2] == (pytest.approx(amin), pytest.approx(amax))
    assert moved[2] == pytest.approx(bmin + 2, abs=0.2)
    labels, link = canvas_labels(page), page.url
    again = browser.new_page()  # the view's link opens the same view
    again.goto(link)
    wait_rendered(again)
    assert np.array_equal(canvas_labels(again), labels)
    page.close()
    again.close()


def test_without_webgl2_the_still_image_and_one_line_say_why(browser, tmp_path):
    path = tmp_path / "live.html"
    path.write_bytes(live.page(make_spec(**FAST), still="still.png"))
    page = browser.new_page()
    page.add_init_script("""HTMLCanvasElement.prototype.getContext = (function (real) {
        return function (kind, options) {
            return kind === 'webgl2' ? null : real.call(this, kind, options);
        };
    })(HTMLCanvasElement.prototype.getContext);""")
    page.goto(path.as_uri())
    assert page.evaluate("document.documentElement.dataset.rendered") == "failed"
    assert "no WebGL2" in page.text_content("#message")
    assert page.get_attribute("img.still", "src") == "still.png"
    page.close()
