"""`attnart jekyll` on real Jekyll sites, each built once with Debian's jekyll, then the page
driven in headless chromium at a desktop and a phone width (issue 23).

The sites: a fresh minima site under `baseurl: /blog` exported with no option but the site and
the resolution, as a new user runs it; a minima site at its root with the author's v2 page;
and two sites shaped like the author's (`include: [_pages]`, a stub of jekyll-scholar's tags,
a bare layout): one with the author's hand-written page and hand edits, one with none.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import io
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import CHROMIUM

from generator.cli import main
from generator.jekyll import GALLERY_END, GALLERY_START

if shutil.which("jekyll") is None or subprocess.run(
        ["gem", "list", "--installed", "^minima$"], capture_output=True).returncode != 0:
    pytest.skip("jekyll or its minima theme is missing (make test installs Debian's jekyll "
                "and jekyll-theme-minima)", allow_module_level=True)

SEEDS = (1, 1679700, 7)
# Only the options the check gives, and a resolution small enough to render at once.
ARGS = ["--resolution", "48", "--quiet"]
# The theme's `page` layout reduced to a document, and jekyll-scholar's tags as no-ops (the
# real gem is not packaged by Debian).
STUB_LAYOUT = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport"'
               ' content="width=device-width, initial-scale=1"><title>{{ page.title }}</title>'
               "</head>\n<body>{{ content }}</body></html>\n")
STUB_PLUGIN = """\
Liquid::Template.register_tag('cite', Class.new(Liquid::Tag) { def render(_context) = '' })
Liquid::Template.register_tag('bibliography', Class.new(Liquid::Tag) { def render(_context) = '' })
"""
# The author's page as published (v1, shortened), before attnart's markers, with a hand edit.
AUTHOR_PAGE = """\
---
layout: page
title: Attention Dynamics Art
permalink: /art/
---

I was reading a paper {% cite geshkovski2025mathematicalperspectivetransformers %}. HAND EDIT.

<div class="art-gallery">
  <img src="/assets/images/art1_Large.png" alt="Attention Dynamics Art 1" onclick="x()">
</div>

## References

{% bibliography --cited %}
"""

# The author's site styles its gallery itself; attnart's stylesheet must not change that.
AUTHOR_CSS = "<style>.art-gallery { display: flex; } .art-gallery img { width: 150px; }</style>"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


SITES = {
    "minima-blog": ({"_config.yml": "title: My blog\ntheme: minima\nbaseurl: /blog\n",
                     "index.md": "---\nlayout: home\n---\n"}, []),
    "minima-v2": ({"_config.yml": "theme: minima\n", "index.md": "---\nlayout: home\n---\n"},
                  ["--style", "v2"]),
    "author": ({"_config.yml": "include: [_pages]\nbaseurl: /me\n",
                "_layouts/page.html": STUB_LAYOUT.replace("</head>", f"{AUTHOR_CSS}</head>"),
                "_plugins/stubs.rb": STUB_PLUGIN,
                "_pages/attention-dynamics-art.md": AUTHOR_PAGE}, []),
    "author-new": ({"_config.yml": "include: [_pages]\n", "_layouts/page.html": STUB_LAYOUT,
                    "_plugins/stubs.rb": STUB_PLUGIN}, []),
}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """name -> (source, built site, printed report): each site exported, then built once."""
    root = tmp_path_factory.mktemp("jekyll")
    seeds = root / "picks.toml"
    seeds.write_text("".join(f"[[artwork]]\nseed = {s}\n" for s in SEEDS))
    env = os.environ | {"HOME": str(root), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    built = {}
    for name, (files, options) in SITES.items():
        src, dst = root / name, root / f"{name}-site"
        _write(src, files)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["jekyll", "--site-dir", str(src), "--seeds", str(seeds), *ARGS,
                         *options]) == 0
        done = subprocess.run(["jekyll", "build", "--source", str(src), "--destination",
                               str(dst)], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        built[name] = (src, dst, out.getvalue())
    return built


def built_page(sites, name: str) -> tuple[str, Path, str]:
    """(printed URL, the built file it names, its HTML)."""
    src, dst, report = sites[name]
    url = re.search(r"^page: (\S+)$", report, re.M)[1]
    base = {"minima-blog": "/blog", "author": "/me"}.get(name, "")
    assert url.startswith(base + "/")
    path = dst / url.removeprefix(base).lstrip("/")
    path = path / "index.html" if url.endswith("/") else path
    return url, path, path.read_text()


# ---- the built sites -------------------------------------------------------------------------


@pytest.mark.parametrize("name, style, url", [
    ("minima-blog", "plain", "/blog/attention-dynamics-art/"),
    ("minima-v2", "v2", "/attention-dynamics-art/"),
    ("author", "v1", "/me/art/"),
    ("author-new", "v1", "/attention-dynamics-art/"),
])
def test_the_page_is_built_where_the_printed_url_says(sites, name, style, url):
    src, dst, report = sites[name]
    assert f"style: {style} (" in report
    printed, path, page = built_page(sites, name)
    assert printed == url and path.is_file()
    srcs = re.findall(r'<img src="([^"]*)"', page)
    base = url.split("/attention")[0] if "attention" in url else "/me"
    assert srcs == [f"{base}/assets/images/art{s}_Large.png" for s in SEEDS]
    for link in re.findall(r'(?:href|src)="(/[^"]*)"', page):
        if "/assets/" in link:
            assert (dst / link.removeprefix(base).lstrip("/")).is_file(), link
    assert "{%" not in page
    assert not (dst / ".attnart").exists()


def test_the_authors_page_keeps_its_words_and_hand_edits(sites):
    src, _, _ = sites["author"]
    text = (src / "_pages/attention-dynamics-art.md").read_text()
    head, tail = AUTHOR_PAGE.split('<div class="art-gallery">')
    assert text.startswith(head + GALLERY_START)
    assert text.endswith(GALLERY_END + "\n" + tail.split("</div>\n", 1)[1])
    assert "HAND EDIT." in built_page(sites, "author")[2]


def test_a_new_users_page_holds_none_of_the_authors_prose(sites):
    page = built_page(sites, "minima-blog")[2]
    for words in ("As part of some research", "Overview", "2025-11-04", "References"):
        assert words not in page
    assert html.unescape(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1]).strip() == (
        "Attention Dynamics Art")


# ---- in chromium ------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(sites, tmp_path_factory):
    """name -> the printed URL of the page, served from 127.0.0.1 with the site under its
    baseurl, as a host serves it."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (`make test` installs Debian's chromium)")
    urls, servers = {}, []
    for name in sites:
        url, _, _ = built_page(sites, name)
        top = tmp_path_factory.mktemp(f"serve-{name}")
        base = {"minima-blog": "blog", "author": "me"}.get(name)
        if base:
            (top / base).symlink_to(sites[name][1], target_is_directory=True)
        else:
            top.rmdir()
            top.symlink_to(sites[name][1], target_is_directory=True)
        handler = functools.partial(_Quiet, directory=str(top))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_address[1]}{url}"
    yield urls
    for server in servers:
        server.shutdown()
        server.server_close()


COUNT = ".attnart-lightbox .attnart-count"


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", list(SITES))
def test_the_gallery_and_its_lightbox_work_at_every_width(browser, served, name, width):
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  has_touch=width < 600)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served[name], wait_until="load")
    n = len(SEEDS)
    assert page.evaluate("""() => [...document.images].every(
        i => i.complete && i.naturalWidth > 0)"""), "an image did not load"
    overflow = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(overflow), "the page scrolls sideways"
    page.click(".attnart-gallery img >> nth=1")  # Playwright scrolls the picture into view
    scrolled = page.evaluate("window.scrollY")
    box = page.locator(".attnart-lightbox")
    assert box.is_visible() and page.inner_text(COUNT) == f"2 / {n}"
    assert f"seed {SEEDS[1]}" in page.inner_text(".attnart-lightbox figcaption")
    shown = page.evaluate("""() => { const i = document.querySelector('.attnart-lightbox img');
        const r = i.getBoundingClientRect();
        return i.complete && i.naturalWidth > 0 && r.top >= 0 && r.left >= 0
            && r.bottom <= innerHeight && r.right <= innerWidth; }""")
    assert shown, "the large image is not loaded inside the screen"
    close = page.locator(".attnart-lightbox .attnart-close").bounding_box()
    assert close["width"] >= 44 and close["height"] >= 44
    assert 0 <= close["x"] and close["x"] + close["width"] <= width and close["y"] >= 0
    assert page.evaluate(overflow)
    for key, count in (("ArrowRight", 3), ("ArrowRight", 1), ("ArrowLeft", 3)):
        page.keyboard.press(key)
        assert page.inner_text(COUNT) == f"{count} / {n}"
    page.keyboard.press("Escape")
    assert not box.is_visible()
    assert page.evaluate("window.scrollY") == scrolled  # the page stayed where it was

    page.click(".attnart-gallery img >> nth=0")
    if width < 600:  # a swipe to the left shows the next picture
        page.evaluate("""() => {
            const box = document.querySelector('.attnart-lightbox');
            const touch = x => new Touch({identifier: 1, target: box, clientX: x, clientY: 300});
            box.dispatchEvent(new TouchEvent('touchstart', {touches: [touch(300)],
                changedTouches: [touch(300)], bubbles: true}));
            box.dispatchEvent(new TouchEvent('touchend', {touches: [],
                changedTouches: [touch(120)], bubbles: true}));
        }""")
        assert page.inner_text(COUNT) == f"2 / {n}"
    page.click(".attnart-lightbox .attnart-close")
    assert not box.is_visible() and page.evaluate("document.documentElement.style.overflow") == ""
    assert errors == []
    context.close()


def test_the_authors_own_gallery_styles_win(browser, served):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(served["author"], wait_until="load")
    assert page.evaluate("""() => [getComputedStyle(document.querySelector('.art-gallery')).display,
        ...[...document.querySelectorAll('.art-gallery img')].map(i => i.clientWidth)]""") == [
        "flex", *[150] * len(SEEDS)]
    page.close()
