"""The explorer's page in Debian's chromium (Playwright), against `attnart explore` started as
a user starts it: tiles appear, wheel, keys and drag move the view and the URL, a reload
restores it, the controls change the artwork, "save view" writes it. As in test_browser.py,
any console error or request outside the server fails the test."""

from __future__ import annotations

import http.server
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("starlette")
from explorer import Explorer  # noqa: E402
from test_browser import WAIT_MS, Watched, sync_api  # noqa: E402

from generator.spec import load_seeds  # noqa: E402

expect = sync_api.expect
VIEWPORT = {"width": 760, "height": 480}  # a map of about 440 x 480: a few tiles a view


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore-browser")
    server = Explorer("--init", "shared", "--iterations", "20", "--save",
                      str(folder / "picks.toml"), cwd=folder)
    server.picks = folder / "picks.toml"
    yield server
    server.stop()




class Page(Watched):
    """Watched, except for requests the page itself aborts: tiles it no longer needs (that is
    how it keeps the server free for the view) and replies a reload leaves behind."""

    def check(self):
        self.errors = [e for e in self.errors if not e.endswith("(net::ERR_ABORTED)")]
        super().check()


@pytest.fixture
def page(browser, server):
    w = Page(browser, server.url, viewport=VIEWPORT)
    yield w.page
    w.context.close()
    w.check()


def state(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def wait_state(page, **changed):
    """Wait until the URL's state has every `changed` value (a callable tests it)."""
    def ok():
        now = state(page)
        return all(test(now.get(k)) if callable(test) else now.get(k) == str(test)
                   for k, test in changed.items())
    for _ in range(WAIT_MS // 50):
        if ok():
            return state(page)
        page.wait_for_timeout(50)
    raise AssertionError(f"URL state {state(page)} never matched {changed}")


def wait_tiles(page, seed: str, at_least: int = 4):
    """Fine tiles of the current zoom and `seed`, loaded and decoded."""
    page.wait_for_function(
        """([seed, n, z]) => [...document.querySelectorAll('.fine img.leaflet-tile-loaded')]
            .filter(img => img.complete && img.naturalWidth === 256
                    && img.src.includes('seed=' + seed + '&')
                    && img.src.includes('/tiles/' + z + '/')).length >= n""",
        arg=[seed, at_least, state(page)["z"]], timeout=WAIT_MS)


def test_tiles_appear_and_the_url_holds_the_view(page, server):
    page.goto(server.url + "?seed=1679700&z=2&a=1&b=-2")
    now = wait_state(page, seed=1679700, init="shared", iterations=20, z=2)
    assert float(now["a"]) == 1 and float(now["b"]) == -2
    wait_tiles(page, "1679700")
    expect(page.locator("#seed")).to_have_value("1679700")
    expect(page.locator("#zoom")).to_have_text("2 of 16")
    expect(page.locator("#command code")).to_contain_text("attnart render 1679700 ")
    assert page.locator(".coarse img").count() > 0  # the coarse layer under the fine one


def test_wheel_keys_and_drag_move_the_view_and_reload_restores_it(page, server):
    page.goto(server.url + "?seed=5227590&z=3&a=0&b=0")
    wait_tiles(page, "5227590")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -50)  # one notch: one zoom level in
    wait_state(page, z=4)
    wait_tiles(page, "5227590")
    for notch in (100, 120):  # a mouse's whole notch, as browsers report it: still one level
        page.mouse.wheel(0, notch)
        wait_state(page, z=3)
        page.wait_for_timeout(300)
        assert state(page)["z"] == "3"
        page.mouse.wheel(0, -notch)
        wait_state(page, z=4)
        page.wait_for_timeout(300)
        assert state(page)["z"] == "4"

    page.locator("#map").focus()
    page.keyboard.press("Minus")
    wait_state(page, z=3)

    before = state(page)
    page.mouse.move(cx, cy)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(cx + 20 * step, cy + 10 * step)
    page.wait_for_timeout(200)  # held still before letting go: no inertia
    page.mouse.up()
    after = wait_state(page, b=lambda b: b != before["b"])
    h = 2.0 ** -(4 + 3)  # a pixel at zoom 3 (generator/explore/tiles.py)
    # dragging right and down brings the left and the top into view: smaller b, larger a
    assert float(after["b"]) == pytest.approx(float(before["b"]) - 200 * h, abs=2 * h)
    assert float(after["a"]) == pytest.approx(float(before["a"]) + 100 * h, abs=2 * h)
    wait_tiles(page, "5227590")

    url = page.url
    page.reload()
    wait_tiles(page, "5227590")
    assert page.url == url
    expect(page.locator("#zoom")).to_have_text("3 of 16")


def test_a_link_with_refused_parameters_opens_the_servers_own(browser, server):
    w = Page(browser, server.url, viewport=VIEWPORT)
    try:
        page = w.page
        w.goto("?seed=42&iterations=100000&init=bogus&z=1&a=0&b=0")
        expect(page.locator("#message")).to_contain_text("the link's parameters were refused")
        expect(page.locator("#message")).to_contain_text("1000")
        wait_state(page, seed=1679700, iterations=20, z=1)
        wait_tiles(page, "1679700")
        expect(page.locator("#iterations")).to_have_value("20")
    finally:
        w.context.close()
    # the one error expected: the server's 400 for the link's parameters (and its console line)
    assert any("400" in e and "iterations=100000" in e for e in w.errors), w.errors
    w.errors = [e for e in w.errors if "400" not in e]
    w.check()


def test_the_view_stays_where_there_are_tiles(page, server):
    """Shared tiles stop at b = 8 at zoom 16 (float32 is too coarse beyond): a view there
    asks for none past it. Per-point tiles keep to [-8, 8]²: the keys cannot pan off it."""
    page.goto(server.url + "?seed=1679700&z=16&a=1&b=8.0001")
    wait_tiles(page, "1679700", at_least=1)
    assert float(wait_state(page, z=16)["b"]) < 8  # held inside
    assert not page.locator("#message").text_content()
    page.goto(server.url + "?seed=1679700&init=per-point&z=1&a=0&b=0")
    wait_tiles(page, "1679700", at_least=1)
    page.locator("#map").focus()
    for _ in range(12):
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(50)
    page.wait_for_timeout(500)
    box = page.locator("#map").bounding_box()
    half = min(box["width"], box["height"]) / 2 / 2 ** (4 + 1)  # half the view, in b
    assert float(state(page)["b"]) >= -8 + half - 1e-6
    expect(page.locator("#command code")).to_contain_text("attnart render 1679700 ")
    assert not page.locator("#message").text_content()
    page.goto(server.url + "?seed=42&z=3&a=1000000&b=-1000000")  # a link far off the plane
    wait_tiles(page, "42", at_least=1)
    now = wait_state(page, seed=42, z=3)
    assert float(now["a"]) <= 24 and float(now["b"]) >= -24
    assert not page.locator("#message").text_content()


def test_controls_change_the_artwork_and_save_view_writes_it(page, server):
    page.goto(server.url + "?seed=6306593&z=2&a=0.5&b=0.5")
    wait_tiles(page, "6306593")
    page.locator("#next").click()
    wait_state(page, seed=6306594)
    wait_tiles(page, "6306594")
    page.locator("#seed").fill("42")
    page.locator("#seed").press("Enter")
    wait_state(page, seed=42)
    page.locator("#iterations").fill("30")
    page.locator("#iterations").dispatch_event("change")
    wait_state(page, iterations=30, seed=42)
    wait_tiles(page, "42")
    page.locator("#iterations").fill("100000")  # over the limit: refused, nothing changes
    page.locator("#iterations").dispatch_event("change")
    expect(page.locator("#message")).to_contain_text("1000")
    expect(page.locator("#iterations")).to_have_value("30")
    assert state(page)["iterations"] == "30"

    page.locator("#title").fill("Browser pick")
    page.locator("#save").click()
    expect(page.locator("#save-note")).to_contain_text("saved to picks.toml: Browser pick")
    saved = load_seeds(server.picks)[-1]
    assert (saved.seed, saved.title, saved.iterations, saved.init) == (
        42, "Browser pick", 30, "shared")
    command = page.locator("#command code").text_content()
    window = re.search(r"--window=(\S+)", command)[1]
    assert [float(v) for v in window.split(",")] == list(saved.window)
    assert f"--resolution {saved.resolution} " in command
    box = page.locator("#map").bounding_box()
    assert saved.resolution == int(min(box["width"], box["height"]))


def test_shade_and_palette_colour_the_tiles_and_stay_in_the_url(page, server):
    page.goto(server.url + "?seed=8012376&z=1&a=0&b=0")
    wait_tiles(page, "8012376")
    expect(page.locator("#palette")).to_be_disabled()  # binary: no palette to choose
    page.locator("#shade").select_option("speed")
    wait_state(page, shade="speed", palette="fire")
    wait_tiles(page, "8012376")
    page.locator("#palette").select_option("kbc")
    wait_state(page, shade="speed", palette="kbc")
    wait_tiles(page, "8012376")
    colours = page.evaluate("""() => {
        const img = [...document.querySelectorAll('.fine img.leaflet-tile-loaded')]
            .find(i => i.src.includes('palette=kbc'));
        const c = document.createElement('canvas');
        c.width = c.height = 256;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, 256, 256).data;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) { coloured++; }
        }
        return coloured;
    }""")
    assert colours > 1000  # kbc is blues: not grey
    expect(page.locator("#command code")).to_contain_text("--shade speed --palette=kbc")
    page.reload()
    wait_tiles(page, "8012376")
    expect(page.locator("#shade")).to_have_value("speed")
    expect(page.locator("#palette")).to_have_value("kbc")
    page.locator("#shade").select_option("binary")
    now = wait_state(page, shade="binary")
    assert now.get("palette", "") == ""
    expect(page.locator("#palette")).to_be_disabled()


def test_pinch_zooms_in(browser, server):
    w = Page(browser, server.url, viewport=VIEWPORT, has_touch=True)
    try:
        page = w.page
        w.goto("?seed=1679700&z=2&a=0&b=0")
        wait_tiles(page, "1679700")
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        cdp = w.context.new_cdp_session(page)

        def touch(kind: str, spread: float):
            points = [] if kind == "touchEnd" else [{"x": cx - spread, "y": cy, "id": 1},
                                                    {"x": cx + spread, "y": cy, "id": 2}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", 40)
        for spread in range(50, 200, 10):  # fingers apart: about four times closer in
            touch("touchMove", spread)
            page.wait_for_timeout(16)
        touch("touchEnd", 0)
        now = wait_state(page, z=lambda z: int(z) > 2)
        wait_tiles(page, "1679700")
        assert int(now["z"]) <= 5
        cdp.detach()
    finally:
        w.context.close()
    w.check()


def test_another_sites_page_can_neither_render_tiles_nor_frame_the_explorer(browser, server):
    """A page on another site (served as localhost, another host than 127.0.0.1, so another
    site) showing a heavy tile and the explorer in a frame: the server refuses the tile (403,
    nothing rendered) and the browser refuses to show the frame."""
    path = "tiles/0/0/0.png?seed=4242&init=shared&iterations=1000&points=64"
    tile = f"{server.url}{path}"
    html = (f'<!doctype html><title>a</title><img id="tile" src="{tile}">'
            f'<iframe id="frame" src="{server.url}"></iframe>').encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        asked = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto(f"http://localhost:{attacker.server_address[1]}/", wait_until="load")
        # asked for, and answered with a 403 the browser does not even show the page (a JSON
        # answer to an image request): no image
        assert tile in asked
        assert page.eval_on_selector("#tile", "img => img.complete && img.naturalWidth") == 0
        framed = next(f for f in page.frames if f is not page.main_frame)
        assert framed.query_selector("#map") is None  # the explorer's page is not shown
        # ... and nothing rendered: the tile is not in the cache when this site asks for it
        # (the count of renders could not tell, as the test before may leave one running)
        cached = server.json("api/status")[1]["cached"]
        assert server.get(path)[0] == 200
        assert server.json("api/status")[1]["cached"] == cached
    finally:
        context.close()
        attacker.shutdown()
        attacker.server_close()
