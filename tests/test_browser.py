"""The gallery in a real browser: headless Debian chromium driven by Playwright.

One tiny site (four 32² artworks) is built once and opened three ways, as the README promises
it works: served at a domain root, served under a sub-path (/gallery/), and from file://.
Every page the tests open records its requests, console errors and page errors; a test fails
if any request leaves the site or anything is logged as an error.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
import torch
from conftest import CHROMIUM

from generator.site import build, build_context
from generator.spec import ArtworkSpec

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is missing (`make test` installs Debian's chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
SEEDS = (1, 1679700, 7, 42)
WAIT_MS = 10_000


# ---- the site, its servers and the browser -------------------------------------------------


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """The built site in <tmp>/gallery, its records and the build context the pages show."""
    out = tmp_path_factory.mktemp("browser") / "gallery"
    specs = [ArtworkSpec(seed=s, title=f"Art {s}" if s != 7 else "", **TINY) for s in SEEDS]
    result = build(specs, out, device=torch.device("cpu"))
    return out, result.records, build_context(result.records)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def serve():
    """serve(folder) -> http://127.0.0.1:PORT/ for a threaded server, all shut down after."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=["root", "sub-path", "file"])
def base(request, gallery, serve) -> str:
    """The URL of the site's folder, ending in '/': everything the pages load must be under it."""
    out = gallery[0]
    if request.param == "root":
        return serve(out)
    if request.param == "sub-path":
        return serve(out.parent) + out.name + "/"
    return out.as_uri() + "/"




class Watched:
    """A fresh context and page that records what the page asks for and what goes wrong."""

    def __init__(self, browser, base: str, **context_options):
        self.base = base
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.on("requestfailed", lambda r: self.errors.append(
            f"request failed: {r.url} ({r.failure})"))
        self.context.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"HTTP {r.status}: {r.url}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} at {m.location}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str):
        self.page.goto(self.base + path, wait_until="load")

    def check(self):
        # data: URLs (the empty lightbox image) are no request to anywhere
        outside = [url for url in self.requests
                   if not url.startswith(self.base) and not url.startswith("data:")]
        assert not outside, f"requests outside {self.base}: {outside}"
        assert not self.errors, self.errors


@pytest.fixture
def watched(browser, base):
    """watched(**context_options) -> Watched; each is checked after the test passed."""
    made = []

    def make(**options) -> Watched:
        made.append(Watched(browser, base, **options))
        return made[-1]

    yield make
    for w in made:
        w.context.close()
    for w in made:
        w.check()


# ---- helpers -------------------------------------------------------------------------------


def wait_loaded(page, image):
    image.wait_for(state="attached")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle(), timeout=WAIT_MS)


def active(page) -> dict:
    return page.evaluate("""() => { const el = document.activeElement;
        return {id: el.id, cls: el.className, tag: el.tagName,
                inBox: !!el.closest('#lightbox')}; }""")


def lightbox_shows(page, art: dict):
    """The lightbox is open on `art`: caption with seed and score, image loaded, fragment set."""
    box = page.locator("#lightbox")
    expect(box).to_be_visible()
    expect(box.locator(".lb-text")).to_have_text(art["caption"])
    expect(box.locator(".lb-link")).to_have_text(art["name"])
    expect(box.locator(".lb-link")).to_have_attribute("href", art["page"])
    assert f"Seed {art['seed']}" in art["caption"]
    assert f"{art['score']:.3f}" in art["caption"]
    image = box.locator(".lb-image")
    expect(image).to_have_attribute("src", art["images"]["large_png"])
    page.wait_for_function(  # chromium takes the WebP <source>
        "([img, name]) => img.complete && img.naturalWidth > 0 && img.currentSrc.endsWith(name)",
        arg=[image.element_handle(), "/" + art["images"]["large_webp"]], timeout=WAIT_MS)
    expect(image).to_be_visible()
    assert page.evaluate("location.hash") == f"#{art['anchor']}"


def shown(value: float) -> str:
    return f"{value:.4f}".replace("-", "\u2212")


# ---- the index and the lightbox ------------------------------------------------------------


def test_index_shows_every_artwork(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    w.goto("index.html")
    tiles = w.page.locator(".grid .tile-link")
    expect(tiles).to_have_count(len(arts))
    expect(w.page.locator("#lightbox")).to_be_hidden()
    for tile, art in zip(tiles.all(), arts):
        expect(tile).to_be_visible()
        assert tile.get_attribute("id") == art["anchor"]
        expect(tile.locator(".tile-caption")).to_contain_text(f"seed {art['seed']}")
        tile.scroll_into_view_if_needed()
        wait_loaded(w.page, tile.locator("img"))


def test_click_opens_arrows_move_escape_closes(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    page = w.page
    w.goto("index.html")
    first = page.locator(".tile-link").first
    first.click()
    lightbox_shows(page, arts[0])
    assert active(page)["inBox"]
    assert page.evaluate("document.body.classList.contains('lb-open')")

    page.keyboard.press("ArrowRight")
    lightbox_shows(page, arts[1])
    page.keyboard.press("ArrowRight")
    lightbox_shows(page, arts[2])
    page.keyboard.press("ArrowLeft")
    lightbox_shows(page, arts[1])

    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()
    assert active(page)["id"] == arts[0]["anchor"]  # back on the tile that opened it
    assert page.evaluate("location.hash") == ""
    assert not page.evaluate("document.body.classList.contains('lb-open')")


def test_arrows_wrap_around(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    w.goto("index.html")
    w.page.locator(".tile-link").last.click()
    lightbox_shows(w.page, arts[-1])
    w.page.keyboard.press("ArrowRight")
    lightbox_shows(w.page, arts[0])
    w.page.keyboard.press("ArrowLeft")
    lightbox_shows(w.page, arts[-1])


def test_focus_is_trapped_and_the_close_button_closes(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    page = w.page
    w.goto("index.html")
    page.locator(".tile-link").nth(1).focus()
    page.keyboard.press("Enter")  # keyboard users open it too
    lightbox_shows(page, arts[1])
    seen = set()
    for key in ["Tab"] * 7 + ["Shift+Tab"] * 7:
        page.keyboard.press(key)
        now = active(page)
        assert now["inBox"], f"{key} left the lightbox for {now}"
        seen.add(now["cls"])
    assert {"lb-close", "lb-prev", "lb-next", "lb-link"} <= seen
    expect(page.locator("#lightbox")).to_be_visible()

    page.locator("#lightbox .lb-next").click()
    lightbox_shows(page, arts[2])
    page.locator("#lightbox .lb-prev").click()
    lightbox_shows(page, arts[1])
    page.locator("#lightbox .lb-close").click()
    expect(page.locator("#lightbox")).to_be_hidden()
    assert active(page)["id"] == arts[1]["anchor"]


def test_fragment_opens_the_shared_artwork(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    page = w.page
    w.goto(f"index.html#{arts[1]['anchor']}")
    lightbox_shows(page, arts[1])
    assert arts[1]["anchor"] == "seed-1679700"
    page.evaluate(f"location.hash = '#{arts[2]['anchor']}'")  # a link followed on the page
    lightbox_shows(page, arts[2])
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()
    assert active(page)["id"] == arts[1]["anchor"]


def test_swipe_moves_between_artworks(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched(has_touch=True)
    page = w.page
    w.goto("index.html")
    page.locator(".tile-link").first.tap()
    lightbox_shows(page, arts[0])
    cdp = w.context.new_cdp_session(page)

    def swipe(x0: int, x1: int, y: int = 300):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
        for x in (x0 + (x1 - x0) // 2, x1):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    swipe(800, 400)  # leftwards: the next one
    lightbox_shows(page, arts[1])
    swipe(400, 800)  # rightwards: back
    lightbox_shows(page, arts[0])
    swipe(640, 610)  # too short to count (and not a tap on the backdrop, which closes)
    lightbox_shows(page, arts[0])
    cdp.detach()


def test_lightbox_counts_zooms_and_goes_fullscreen(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched()
    page = w.page
    w.goto("index.html")
    page.locator(".tile-link").nth(1).click()
    lightbox_shows(page, arts[1])
    counter = page.locator("#lightbox .lb-counter")
    expect(counter).to_have_text(f"2 / {len(arts)}")
    image = page.locator("#lightbox .lb-image")
    scale = "img => new DOMMatrix(getComputedStyle(img).transform).a"
    assert image.evaluate(scale) == 1
    page.keyboard.press("+")
    assert image.evaluate(scale) == 2
    expect(image).to_have_attribute("src", arts[1]["images"]["full"])  # past the large size
    page.locator("#lightbox .lb-zoom-in").click()
    page.locator("#lightbox .lb-zoom-in").click()
    side = page.locator("#lightbox .lb-view").evaluate("el => el.clientWidth")
    most = max(2, 2 * arts[1]["images"]["size"] / side)  # 2 screen pixels per image pixel
    assert image.evaluate(scale) == pytest.approx(most)
    page.locator("#lightbox .lb-zoom-out").click()
    assert image.evaluate(scale) == pytest.approx(max(1, most / 2))
    page.locator("#lightbox .lb-zoom-out").click()
    assert image.evaluate(scale) == 1
    page.keyboard.press("ArrowRight")  # a new artwork starts whole
    expect(counter).to_have_text(f"3 / {len(arts)}")
    assert image.evaluate(scale) == 1
    page.locator("#lightbox .lb-full").click()
    page.wait_for_function("document.fullscreenElement?.id === 'lightbox'")
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()


def test_filters_hide_sort_and_count(watched, gallery):
    arts = gallery[2]["artworks"]
    traits = {t["key"]: t["values"] for t in gallery[2]["traits"]}
    w = watched()
    page = w.page
    w.goto("index.html")
    form = page.locator("#filters")
    expect(form).to_be_visible()
    value, count = traits["structure"][0]
    form.locator("select[data-trait=structure]").select_option(value)
    expect(page.locator(".grid .tile:visible")).to_have_count(count)
    expect(page.locator("#shown")).to_have_text(f"{count} of {len(arts)}")
    page.locator(".grid .tile:visible .tile-link").first.click()
    expect(page.locator("#lightbox .lb-counter")).to_have_text(f"1 / {count}")
    page.keyboard.press("Escape")
    form.locator("select[data-trait=structure]").select_option("")
    form.locator("#sort").select_option("dimension-desc")
    shown_d = [float(t.get_attribute("data-dimension")) for t in page.locator(".grid .tile").all()]
    assert shown_d == sorted((a["score"] for a in arts), reverse=True)


# The widths a gallery is looked at (phones, a tablet, laptops and desktops) and their screens.
SCREENS = {360: 740, 390: 844, 768: 1024, 1280: 800, 1920: 1080}


@pytest.mark.parametrize("width", SCREENS)
def test_art_first_at_every_width(browser, gallery, width):
    out, _, ctx = gallery
    w = Watched(browser, out.as_uri() + "/", viewport={"width": width, "height": SCREENS[width]})
    page = w.page
    try:
        for path in ["index.html"] + [a["page"] for a in ctx["artworks"][:2]]:
            w.goto(path)
            page.wait_for_load_state("networkidle")  # the favicon too, before the next page
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        art = page.locator(".art-stage img").bounding_box()
        assert art["y"] >= 0 and art["y"] + art["height"] <= SCREENS[width]  # whole, unscrolled
        if width < 700:
            assert art["width"] >= 0.9 * width  # a phone: the screen's width
            w.goto("index.html")  # the filters folded: the first tile on the first screen
            page.wait_for_load_state("networkidle")
            expect(page.locator("#filters-box")).to_be_visible()
            assert not page.evaluate("document.getElementById('filters-box').open")
            tile = page.locator(".tile img").first.bounding_box()
            assert tile["y"] + tile["height"] / 2 < SCREENS[width]
        else:
            assert art["height"] >= SCREENS[width] / 2
        if width >= 1280:  # the facts beside the art, on the first screen
            for matrix in page.locator(".matrix").all():
                box = matrix.bounding_box()
                assert box["x"] >= art["x"] + art["width"]
                assert box["y"] + box["height"] <= SCREENS[width]
            seed = page.locator(".art-byline").bounding_box()
            assert seed["y"] + seed["height"] <= SCREENS[width]
    finally:
        w.context.close()
    w.check()


def test_without_javascript_tiles_lead_to_artwork_pages(watched, gallery):
    arts = gallery[2]["artworks"]
    w = watched(java_script_enabled=False)
    page = w.page
    w.goto("index.html")
    expect(page.locator("#lightbox")).to_be_hidden()
    page.locator(".tile-link").nth(2).click()
    page.wait_for_url(w.base + arts[2]["page"])
    expect(page.locator("h1")).to_have_text(arts[2]["name"])
    assert arts[2]["name"] == "Seed 7"  # an artwork without a title is named by its seed


# ---- an artwork page -----------------------------------------------------------------------


def test_artwork_page_shows_seed_and_matrices(watched, gallery):
    _, records, ctx = gallery
    art, meta = ctx["artworks"][1], records[1]["meta"]
    w = watched()
    page = w.page
    w.goto(art["page"])
    expect(page.locator("h1")).to_have_text(art["name"])
    expect(page.locator(".art-byline")).to_have_text(f"Seed {meta['seed']}")
    wait_loaded(page, page.locator(".art-stage img"))
    expect(page.locator(".art-stage figcaption")).to_have_text(art["caption"])

    matrices = page.locator(".matrix")
    expect(matrices).to_have_count(2)
    for matrix, label, key in zip(matrices.all(), "QV", ("W_Q", "W_V")):
        expect(matrix).to_be_visible()
        assert "".join(matrix.locator(".matrix-name").text_content().split()) == f"W{label}="
        rows = [[cell.text_content().strip() for cell in row.locator("td").all()]
                for row in matrix.locator("tr").all()]
        assert rows == [[shown(v) for v in row] for row in meta[key]]
        # the brackets are the table's own sides: they span both rows
        body, cells = matrix.locator(".matrix-body"), matrix.locator("td")
        top, bottom = cells.first.bounding_box(), cells.last.bounding_box()
        box = body.bounding_box()
        assert box["y"] <= top["y"] and box["y"] + box["height"] >= bottom["y"] + bottom["height"]
    assert (meta["seed"], meta["rng"]) == (1679700, "cuda")  # W_Q of the paper's Appendix B:
    assert matrices.first.locator("td").first.text_content() == "1.1646"
    expect(page.locator("pre.command")).to_contain_text(f"attnart render {meta['seed']}")
    shares = page.locator(".traits li")
    expect(shares.first).to_contain_text("% of this collection")
    expect(page.locator("details.more").first).not_to_have_attribute("open", "")

    page.locator("a[rel=next]").first.click()
    page.wait_for_url(w.base + art["next"])
    expect(page.locator("h1")).to_have_text(ctx["artworks"][2]["name"])

    page.locator(".artwork-nav a", has_text="all artworks").first.click()
    page.wait_for_url(f"{w.base}index.html#{ctx['artworks'][2]['anchor']}")
    lightbox_shows(page, ctx["artworks"][2])


# ---- accessibility -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_axe_finds_nothing_serious(browser, gallery, serve, scheme):
    """axe-core (bundled by axe-playwright-python) on every page, the lightbox open too, in
    both colour schemes: no serious or critical violation, text contrast included."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    out, _, ctx = gallery
    w = Watched(browser, serve(out), color_scheme=scheme)  # axe reads the CSS: not file://
    page = w.page
    found = []
    try:
        for path in ["index.html", "index.html#" + ctx["artworks"][1]["anchor"]] + [
                a["page"] for a in ctx["artworks"]]:
            w.goto(path)
            page.wait_for_load_state("networkidle")
            for v in axe.run(page).response["violations"]:
                if v["impact"] in ("serious", "critical"):
                    found.append((path, v["id"], [n["target"] for n in v["nodes"]][:3]))
    finally:
        w.context.close()
    assert not found, found
    w.check()


def test_copy_puts_the_render_command_on_the_clipboard(browser, gallery, serve):
    out, _, ctx = gallery
    w = Watched(browser, serve(out))
    try:
        w.context.grant_permissions(["clipboard-read", "clipboard-write"])
        w.goto(ctx["artworks"][1]["page"])
        button = w.page.locator(".command-head .copy")
        expect(button).to_be_visible()  # made visible by its script: hidden without one
        button.click()
        expect(button).to_have_text("Copied")
        copied = w.page.evaluate("navigator.clipboard.readText()")
        assert copied == ctx["artworks"][1]["command"]
    finally:
        w.context.close()
    w.check()
