"""The deep-zoom artwork page in Debian's chromium, from file:// and under a sub-path: it opens
on the whole image, a wheel zoom loads deeper tiles, blank tiles are drawn by the page, and
nothing is logged as an error or fetched from outside the site (test_browser.py's checks)."""

from __future__ import annotations

import pytest
import torch
from test_browser import Watched, serve  # noqa: F401  (serve: a fixture, shared)

from generator.site import build
from generator.spec import ArtworkSpec

SIDE = 512  # two levels: 512² in 4 tiles, and 256² in one


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("deepzoom-browser") / "gallery"
    specs = [ArtworkSpec(seed=1679700, resolution=32, iterations=iterations, init="shared")
             for iterations in (20, 0)]  # T = 0: all black, every tile blank
    # ... and shaded by speed, one colour: every point's spread at step 0 is X(0)'s
    specs.append(ArtworkSpec(seed=1679700, resolution=32, iterations=0, init="shared",
                             shade="speed", palette=("#000000", "#ff8800", "#ffffff")))
    result = build(specs, out, device=torch.device("cpu"), deep_zoom=SIDE)
    return out, specs, [r["deepzoom"] for r in result.records]


@pytest.fixture(scope="module", params=["sub-path", "file"])
def base(request, site, serve):  # noqa: F811
    out = site[0]
    if request.param == "file":
        return out.as_uri() + "/"
    return serve(out.parent) + out.name + "/"


def loaded(page, level: int) -> int:
    return page.evaluate(
        """level => [...document.querySelectorAll('.deepzoom-tiles img')]
            .filter(img => img.complete && img.naturalWidth > 0
                    && img.src.includes('-512/' + level + '/')).length""", level)


def test_artwork_page_zooms_into_deeper_tiles(site, base, browser):  # noqa: F811
    out, (spec, black, orange), _ = site
    w = Watched(browser, base, viewport={"width": 300, "height": 900})  # fits level 0
    try:
        page = w.page
        w.goto(f"artworks/{spec.id}.html")
        viewer = page.locator("#deepzoom")
        viewer.scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelectorAll("
                               "'.deepzoom-tiles img.leaflet-tile-loaded').length > 0")
        assert loaded(page, 0) == 1 and loaded(page, 1) == 0  # the whole image, level 0
        box = viewer.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        before = page.evaluate("window.scrollY")
        page.mouse.wheel(0, 200)  # not yet chosen: the wheel scrolls the page, no zoom
        page.wait_for_function(f"window.scrollY > {before}")
        assert loaded(page, 1) == 0
        viewer.scroll_into_view_if_needed()
        box = viewer.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(12):  # chosen: the wheel zooms, and stops at 2x the deepest pixels
            page.mouse.wheel(0, -100)
            page.wait_for_timeout(100)
        page.wait_for_function(
            """() => [...document.querySelectorAll('.deepzoom-tiles img.leaflet-tile-loaded')]
                .some(img => img.src.includes('-512/1/'))""")
        assert loaded(page, 1) >= 1
        assert page.locator("#deepzoom-fullscreen").is_visible()
        scale = page.evaluate("""() => { const tile = document.querySelector(
            '.deepzoom-tiles img.leaflet-tile-loaded[src*="-512/1/"]');
            return tile.getBoundingClientRect().width / tile.naturalWidth; }""")
        assert scale == pytest.approx(2, abs=0.01)  # one level past the deepest: 2 px a pixel
        for _ in range(20):  # zoom out stops where the whole artwork fits
            page.mouse.wheel(0, 100)
            page.wait_for_timeout(50)
        page.wait_for_timeout(400)
        fit = page.evaluate("""() => { const tile = document.querySelector(
            '.deepzoom-tiles img.leaflet-tile-loaded[src*="-512/0/"]');
            return tile.getBoundingClientRect().width; }""")
        side = min(box["width"], box["height"])
        assert side / 2 ** 0.25 - 1 <= fit <= side + 1  # whole, within one zoom snap of the box

        w.goto(f"artworks/{black.id}.html")  # no tile files at all: the page draws them
        page.locator("#deepzoom").scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelectorAll("
                               "'.deepzoom-tiles div.leaflet-tile-loaded').length > 0")
        assert page.locator(".deepzoom-tiles img").count() == 0
        colour = page.locator(".deepzoom-tiles div.leaflet-tile").first.evaluate(
            "el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(0, 0, 0)"

        w.goto(f"artworks/{orange.id}.html")  # a colour pyramid's blank tiles: its colour
        page.locator("#deepzoom").scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelectorAll("
                               "'.deepzoom-tiles div.leaflet-tile-loaded').length > 0")
        colour = page.locator(".deepzoom-tiles div.leaflet-tile").first.evaluate(
            "el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(255, 136, 0)"
    finally:
        w.context.close()
    w.check()
