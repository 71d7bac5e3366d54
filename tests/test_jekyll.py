import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from generator import jekyll
from generator.cli import main
from generator.errors import InputError, OutputError, SpecError
from generator.jekyll import GALLERY_END, GALLERY_START, build_context, export, update_page
from generator.jekyll_site import read_site
from generator.spec import ArtworkSpec

CPU = torch.device("cpu")
TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
TINY_ARGS = ["--resolution", "32", "--iterations", "20", "--init", "shared", "--quiet"]
PAGE = Path("attention-dynamics-art.md")  # where a new page goes on a site with no _pages
AUTHOR_PAGE = Path("_pages/attention-dynamics-art.md")
SCHOLAR = "plugins: [jekyll-scholar]\n"  # a site whose v1 page can cite


def make_spec(**overrides) -> ArtworkSpec:
    """Tiny artworks (32², 20 steps, shared X(0)): rendering one takes milliseconds."""
    return ArtworkSpec(**({"seed": 1679700} | TINY | overrides))


def three_specs() -> list[ArtworkSpec]:
    return [make_spec(seed=1, wq="identity", wv="identity", title="Attention Dynamics Art 1"),
            make_spec(seed=1679700), make_spec(seed=7)]


def export_tiny(site_dir: Path, specs=None, **kw):
    return export(specs or three_specs(), site_dir, device=CPU, **({"size": 32} | kw))


def front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "the page starts with a front matter block"
    return yaml.safe_load(match[1])


LIQUID_URL = r"\{\{ '/([^']*)' \| relative_url \}\}"


def gallery(text: str) -> list[tuple[str, str]]:
    """(site path, alt) of each image between the markers, in order."""
    block = text.split(GALLERY_START)[1].split(GALLERY_END)[0]
    assert block.count('class="art-gallery attnart-gallery"') + block.count(
        'class="attnart-gallery attnart-figures"') == 1
    return re.findall(f'<img src="{LIQUID_URL}" alt="([^"]*)"', block)


def outside_block(text: str) -> str:
    head, rest = text.split(GALLERY_START)
    return head + rest.split(GALLERY_END)[1]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---- the pure parts --------------------------------------------------------------------------


def test_context_keeps_order_and_published_names():
    specs = three_specs()
    arts = build_context(specs)["artworks"]
    assert [a["side"] for a in arts] == [32] * 3  # the image's pixels, capped by the render's
    assert [a["side"] for a in build_context(specs, size=16)["artworks"]] == [16] * 3
    # a plain page's own title names its untitled artworks
    assert [a["alt"] for a in build_context(specs, title="Mine")["artworks"]] == [
        "Attention Dynamics Art 1", "Mine 2", "Mine 3"]
    assert [a["src"] for a in arts] == ["assets/images/art1_Large.png",
                                        "assets/images/art1679700_Large.png",
                                        "assets/images/art7_Large.png"]
    # a title when the seeds file gives one, else the published "Attention Dynamics Art N"
    assert [a["alt"] for a in arts] == [f"Attention Dynamics Art {n}" for n in (1, 2, 3)]
    assert all(a["page"] is None for a in arts)
    linked = build_context(specs, pages={specs[2].id: "attnart/artworks/x.html"})["artworks"]
    assert linked[2]["page"] == "attnart/artworks/x.html" and linked[0]["page"] is None


def test_update_page_replaces_only_the_block():
    block = f"{GALLERY_START}\nNEW\n{GALLERY_END}\n"
    text = f"intro\n\n{GALLERY_START}\nOLD\n{GALLERY_END}\n\noutro\n"
    assert update_page(text, block) == f"intro\n\n{block}\noutro\n"
    bare = 'intro\n\n<div class="art-gallery">\n  <img src="a.png">\n</div>\n\noutro\n'
    assert update_page(bare, block) == f"intro\n\n{block}\noutro\n"


@pytest.mark.parametrize("text, message", [
    ("no gallery here\n", "no <div"),
    (f"{GALLERY_START}\nx\n", "exactly one"),
    (f"{GALLERY_END}\nx\n{GALLERY_START}\n", "exactly one"),
    (f"{GALLERY_START}\n{GALLERY_END}\n{GALLERY_START}\n{GALLERY_END}\n", "exactly one"),
    ('<div class="art-gallery"></div>\n<div class="art-gallery"></div>\n', "more than one"),
])
def test_update_page_refuses_unclear_pages(text, message):
    with pytest.raises(OutputError, match=message):
        update_page(text, f"{GALLERY_START}\n{GALLERY_END}\n")


# ---- the export ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["v1", "v2"])
def test_new_page_has_front_matter_gallery_lightbox_and_prose(tmp_path, style):
    (tmp_path / "_config.yml").write_text(SCHOLAR)
    result = export_tiny(tmp_path, style=style)
    text = (tmp_path / PAGE).read_text()
    assert result.page_written and len(result.rendered) == 3
    assert (result.style, result.why) == (style, "as asked")
    fm = front_matter(text)
    assert fm["layout"] == "page" and fm["title"] == "Attention Dynamics Art"
    assert fm["permalink"] == "/attention-dynamics-art/"
    assert str(fm["date"]) == "2025-11-04" and fm["math"] is True
    assert fm["links"] == {"paper": "/assets/docs/Attention_Dynamics_Art.pdf"}
    assert fm["excerpt"].startswith("Cool plots" if style == "v1" else "Generative art")
    assert gallery(text) == [(a["src"], a["alt"]) for a in
                             build_context(three_specs())["artworks"]]
    # the block brings its own stylesheet and lightbox; the author's inline one is gone
    assert "onclick" not in text and '<div id="lightbox"' not in text
    assert f'data-attnart-style="{style}"' in text
    for name in ("gallery.css", "lightbox.js"):
        assert f"{{{{ '/assets/attnart/{name}' | relative_url }}}}" in text
        assert (tmp_path / "assets/attnart" / name).stat().st_size > 500
    if style == "v1":
        assert "{% cite geshkovski2025mathematicalperspectivetransformers %}" in text
        assert "## References\n\n{% bibliography --cited %}\n" in text
    else:
        assert "## Overview" in text and "## Gallery" in text and "{%" not in text
    for spec in three_specs():
        image = Image.open(tmp_path / "assets/images" / f"art{spec.seed}_Large.png")
        assert image.size == (32, 32) and image.mode == "L"


def test_images_are_antialiased_downsamples(tmp_path):
    spec = make_spec(resolution=48)
    export([spec], tmp_path, size=16, device=CPU)
    pixels = np.asarray(Image.open(tmp_path / "assets/images/art1679700_Large.png"))
    assert pixels.shape == (16, 16)
    # LANCZOS leaves grey along the boundaries between the black and white regions
    assert ((pixels > 0) & (pixels < 255)).any()


def test_default_size_is_capped_by_the_resolution(tmp_path):
    export([make_spec()], tmp_path, device=CPU)
    assert Image.open(tmp_path / "assets/images/art1679700_Large.png").size == (32, 32)


def test_rerun_writes_and_renders_nothing(tmp_path):
    export_tiny(tmp_path)
    before = snapshot(tmp_path)
    again = export_tiny(tmp_path)
    assert not again.page_written and again.images_written == [] and again.rendered == []
    assert len(again.images_unchanged) == 3
    assert snapshot(tmp_path) == before  # same bytes, same modification times


def test_existing_page_keeps_hand_edits_and_other_files(tmp_path):
    export_tiny(tmp_path, style="v2")
    page = tmp_path / PAGE
    edited = page.read_text().replace("title: Attention Dynamics Art",
                                      "title: My Art\ntags: [art]")
    edited = edited.replace("## Gallery", "## Gallery\n\nHand-written words.")
    page.write_text(edited)
    (tmp_path / "index.md").write_text("---\nlayout: home\n---\nhome\n")
    (tmp_path / "assets/images/other.png").write_bytes(b"not ours")
    others = {k: v for k, v in snapshot(tmp_path).items()
              if k in ("index.md", "assets/images/other.png")}

    specs = three_specs()
    reordered = [specs[2], specs[0], make_spec(seed=42)]
    result = export_tiny(tmp_path, reordered)  # the page keeps its style
    text = page.read_text()
    assert result.page_written and result.rendered == [reordered[2].id]
    assert outside_block(text) == outside_block(edited)
    assert [src for src, _ in gallery(text)] == [f"assets/images/art{s}_Large.png"
                                                 for s in (7, 1, 42)]
    assert front_matter(text)["title"] == "My Art" and front_matter(text)["tags"] == ["art"]
    assert {k: v for k, v in snapshot(tmp_path).items() if k in others} == others
    # a dropped artwork's image stays: the site's files are the author's to remove
    assert (tmp_path / "assets/images/art1679700_Large.png").exists()


# The author's page as published, before the markers: a bare gallery and its inline lightbox.
AUTHOR_HAND_WRITTEN = """\
---
layout: page
title: Attention Dynamics Art
---

See them below!

<div class="art-gallery">
  <img src="/assets/images/art1_Large.png" alt="Art 1" onclick="openLightbox(this.src)">
  <img src="/assets/images/art7_Large.png" alt="Art 2" onclick="openLightbox(this.src)">
</div>

<div id="lightbox" class="lightbox" onclick="closeLightbox()">
  <img class="lightbox-content" id="lightbox-img">
</div>
"""


def test_the_authors_page_without_markers_gets_them_around_its_gallery(tmp_path):
    page = tmp_path / AUTHOR_PAGE  # where it has always been, whatever _config.yml says
    page.parent.mkdir()
    page.write_text(AUTHOR_HAND_WRITTEN)
    result = export_tiny(tmp_path)
    text = page.read_text()
    assert result.page == page and (result.style, result.why) == ("v1", "the page's own")
    head, tail = AUTHOR_HAND_WRITTEN.split('<div class="art-gallery">')
    assert text.startswith(head + GALLERY_START) and text.endswith(
        f"{GALLERY_END}\n" + tail.split("</div>\n", 1)[1])
    assert [src for src, _ in gallery(text)] == [a["src"] for a in
                                                  build_context(three_specs())["artworks"]]
    # v1 and v2 share the author's block: asking for either changes nothing
    assert not export_tiny(tmp_path, style="v2").page_written


def test_changed_image_is_rewritten(tmp_path):
    export_tiny(tmp_path)
    target = tmp_path / "assets/images/art7_Large.png"
    good = target.read_bytes()
    target.write_bytes(b"stale")
    result = export_tiny(tmp_path)
    assert result.images_written == [target] and result.rendered == []
    assert target.read_bytes() == good


def test_with_pages_links_each_image_to_its_artwork_page(tmp_path):
    specs = three_specs()
    result = export_tiny(tmp_path, specs, with_pages=True)
    text = (tmp_path / PAGE).read_text()
    links = re.findall(f'<a href="{LIQUID_URL}"><img src="{LIQUID_URL}"', text)
    assert len(links) == 3 and len(result.rendered) == 3
    for (href, src), spec in zip(links, specs):
        assert src == f"assets/images/art{spec.seed}_Large.png"
        assert href == f"attnart/artworks/{spec.id}.html"
        assert (tmp_path / href).is_file()
    assert export_tiny(tmp_path, specs, with_pages=True).rendered == []


def test_with_pages_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "attnart").mkdir()
    with pytest.raises(OutputError, match="not made by attnart"):
        export_tiny(tmp_path, with_pages=True)


@pytest.mark.parametrize("kw, error, message", [
    ({"page": Path("../outside.md")}, OutputError, "inside the site"),
    ({"page": Path("/abs.md")}, OutputError, "inside the site"),
    ({"size": 64}, SpecError, "size must be in 1..32"),
    ({"style": "v3"}, SpecError, "style must be auto or one of"),
    ({"style": "v1"}, OutputError, "cites with jekyll-scholar, which this site has neither"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, kw, error, message):
    with pytest.raises(error, match=message):
        export_tiny(tmp_path, **kw)
    assert list(tmp_path.iterdir()) == []


def test_artworks_sharing_a_seed_get_names_of_their_own(tmp_path):
    specs = [make_spec(seed=7), make_spec(seed=7, init="per-point"), make_spec(seed=1)]
    result = export_tiny(tmp_path, specs)
    names = sorted(p.name for p in result.images_written)
    assert names == sorted(["art1_Large.png", f"art{specs[0].id}_Large.png",
                            f"art{specs[1].id}_Large.png"])
    assert [src for src, _ in gallery((tmp_path / PAGE).read_text())] == [
        f"assets/images/art{specs[0].id}_Large.png", f"assets/images/art{specs[1].id}_Large.png",
        "assets/images/art1_Large.png"]


# ---- the command line ------------------------------------------------------------------------


def test_cli_writes_the_site_then_nothing(tmp_path, capsys):
    seeds = tmp_path / "picks.toml"
    seeds.write_text("[[artwork]]\nseed = 7\n\n[[artwork]]\nseed = 1679700\n")
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    args = ["jekyll", "--site-dir", str(site_dir), "--seeds", str(seeds), "--style", "v2",
            "--cache", str(tmp_path / "cache"), *TINY_ARGS]  # a cache of its own: it renders
    assert main(args) == 0
    assert "written; 2 images written, 0 unchanged, 2 rendered" in capsys.readouterr().out
    assert main(args) == 0
    assert "unchanged; 0 images written, 2 unchanged, 0 rendered" in capsys.readouterr().out


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "does not exist"),
    (lambda p: p.write_text("x") and p, "is not a folder"),
])
def test_cli_site_dir_must_be_a_folder(tmp_path, capsys, make, message):
    site_dir = tmp_path / "site"
    make(site_dir)
    assert main(["jekyll", "--site-dir", str(site_dir), *TINY_ARGS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("attnart: error:")


# ---- files the author owns -------------------------------------------------------------------


def test_an_image_the_author_made_is_replaced_only_with_force(tmp_path, capsys):
    mine = tmp_path / "assets/images/art7_Large.png"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the author's own picture")
    with pytest.raises(OutputError, match="art7_Large.png was not written by attnart jekyll"):
        export_tiny(tmp_path)
    assert mine.read_bytes() == b"the author's own picture"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["art7_Large.png"]
    assert export_tiny(tmp_path, force=True).images_written
    assert mine.read_bytes().startswith(b"\x89PNG")
    mine.write_bytes(b"stale")  # ours now: a later run may replace it
    assert export_tiny(tmp_path).images_written == [mine]


def test_with_pages_reuses_the_renders_of_a_plain_export(tmp_path):
    specs = three_specs()
    assert len(export_tiny(tmp_path, specs).rendered) == 3
    assert export_tiny(tmp_path, specs, with_pages=True).rendered == []
    assert export_tiny(tmp_path, specs).rendered == []


def test_crlf_page_keeps_its_line_endings(tmp_path):
    page = tmp_path / AUTHOR_PAGE
    page.parent.mkdir(parents=True)
    text = f"intro\r\n\r\n{GALLERY_START}\r\nold\r\n{GALLERY_END}\r\n\r\noutro\r\n"
    page.write_bytes(text.encode())
    export_tiny(tmp_path)
    data = page.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") and b"art7_Large.png" in data
    assert data.startswith(b"intro\r\n\r\n") and data.endswith(b"\r\n\r\noutro\r\n")


def test_seeds_file_with_a_byte_order_mark(tmp_path, capsys):
    seeds = tmp_path / "picks.toml"
    seeds.write_bytes("\ufeff[[artwork]]\r\nseed = 7\r\n".encode())
    (tmp_path / "site").mkdir()
    assert main(["jekyll", "--site-dir", str(tmp_path / "site"), "--seeds", str(seeds),
                 *TINY_ARGS]) == 0
    assert (tmp_path / "site/assets/images/art7_Large.png").is_file()


# ---- the site's own settings (issue 23) ------------------------------------------------------


def site_with(root: Path, config: str | None = None, **files: str) -> Path:
    """A site folder with this `_config.yml` and these files (names with '__' for '/')."""
    root.mkdir(exist_ok=True)
    if config is not None:
        (root / "_config.yml").write_text(config)
    for name, text in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("config, page, url", [
    (None, "attention-dynamics-art.md", "/attention-dynamics-art/"),
    ("baseurl: /blog/\n", "attention-dynamics-art.md", "/blog/attention-dynamics-art/"),
    ("include: [_pages]\nbaseurl: blog\n", "_pages/attention-dynamics-art.md",
     "/blog/attention-dynamics-art/"),
    ("include:\n  - _pages/\n", "_pages/attention-dynamics-art.md", "/attention-dynamics-art/"),
    # a regular expression would read the commented line; YAML does not
    ("# include: [_pages]\ntitle: x\n", "attention-dynamics-art.md", "/attention-dynamics-art/"),
    ("collections:\n  pages:\n    output: true\n", "_pages/attention-dynamics-art.md",
     "/attention-dynamics-art/"),
    ("collections: [pages]\n", "attention-dynamics-art.md", "/attention-dynamics-art/"),
    ("collections_dir: my\ncollections:\n  pages: {output: true}\nbaseurl: ''\n",
     "attention-dynamics-art.md", "/attention-dynamics-art/"),
])
def test_new_page_goes_where_the_site_builds_it(tmp_path, config, page, url):
    site_dir = site_with(tmp_path / "site", config)
    result = export_tiny(site_dir)
    assert result.page == site_dir / page and result.url == url and result.notes == []
    assert front_matter(result.page.read_text())["permalink"] == url.removeprefix("/blog")
    assert [p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.md")] == [page]


def test_jekyll_urls_of_existing_pages(tmp_path):
    site = read_site(site_with(tmp_path, "baseurl: /b\npermalink: pretty\ninclude: [_x]\n"
                               "collections:\n  art: {output: true}\n"))
    assert site.url(Path("a/b.md"), {}) == "/b/a/b/"
    assert site.url(Path("a/index.md"), {}) == "/b/a/"
    assert site.url(Path("a/b.md"), {"permalink": "/here/"}) == "/b/here/"
    assert site.url(Path("a/b.md"), {"permalink": "/:title/"}) is None  # Jekyll's to fill
    assert site.url(Path("_art/x/y.md"), {}) == "/b/art/x/y.html"
    assert read_site(site_with(tmp_path / "s")).url(Path("a/b.md"), {}) == "/a/b.html"
    assert site.skipped(Path("_x/p.md")) is None and site.skipped(Path("_drafts/p.md")) == (
        "_drafts")
    assert site.skipped(Path("a/.hidden/p.md")) == "a/.hidden"
    assert site.skipped(Path("a/_p.md")) == "a/_p.md" and site.skipped(Path("_x/_p.md")) == (
        "_x/_p.md")


@pytest.mark.parametrize("config, body, message", [
    ("include: [_pages\n", None, r"_config.yml is not valid YAML \(line 2\)"),
    ("- a\n- b\n", None, "must be a YAML mapping"),
    ("include: 3\n", None, "include must be a list of paths"),
    ("baseurl: [x]\n", None, "baseurl must be a path"),
])
def test_a_config_jekyll_cannot_read_is_refused(tmp_path, config, body, message):
    with pytest.raises(InputError, match=message):
        export_tiny(site_with(tmp_path / "site", config))
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["_config.yml"]


def test_a_new_page_where_jekyll_does_not_build_is_refused(tmp_path):
    site_dir = site_with(tmp_path / "site", "title: x\n")
    with pytest.raises(OutputError, match=r"Jekyll does not build _drafts, so _drafts/a.md "
                                          r"would never be published; add it to include:"):
        export_tiny(site_dir, page=Path("_drafts/a.md"))
    with pytest.raises(OutputError, match=r"Jekyll does not build _a.md, so _a.md would"):
        export_tiny(site_dir, page=Path("_a.md"))
    assert sorted(p.name for p in site_dir.iterdir()) == ["_config.yml"]


def test_an_existing_page_is_found_wherever_it_is(tmp_path):
    site_dir = site_with(tmp_path / "site", "baseurl: /blog\n")
    first = export_tiny(site_dir).page
    moved = site_dir / "projects/art.md"
    moved.parent.mkdir()
    first.rename(moved)
    moved.write_text(moved.read_text().replace("permalink: /attention-dynamics-art/\n", "")
                     .replace('alt="Attention Dynamics Art 2"', 'alt="old"'))
    (site_dir / "_site").mkdir()  # a built copy holds the markers too, and is not the page
    (site_dir / "_site/art.html").write_text(GALLERY_START + GALLERY_END)
    result = export_tiny(site_dir)
    assert result.page == moved and result.page_written and result.url == "/blog/projects/art.html"
    assert 'alt="old"' not in moved.read_text() and not first.exists()
    (site_dir / "other.md").write_text(moved.read_text())
    with pytest.raises(OutputError, match="both hold attnart's gallery; choose one with --page"):
        export_tiny(site_dir)


@pytest.mark.parametrize("files, where", [
    ({"_config.yml": "plugins:\n  - jekyll-scholar\n"}, "its _config.yml plugins"),
    ({"_config.yml": "gems: [jekyll-feed, jekyll-scholar]\n"}, "its _config.yml plugins"),
    ({"Gemfile": 'source "https://rubygems.org"\ngroup :jekyll_plugins do\n'
                 '  gem "jekyll-scholar", "~> 7"\nend\n'}, "its Gemfile"),
    ({"_plugins__cite.rb": "Liquid::Template.register_tag('cite', Cite)\n"}, "_plugins/cite.rb"),
    ({"Gemfile": '# gem "jekyll-scholar"\n'}, None),
    ({"_config.yml": "plugins: [jekyll-feed]\n# jekyll-scholar\n"}, None),
])
def test_auto_style_follows_the_site(tmp_path, files, where):
    result = export_tiny(site_with(tmp_path / "site", **files))
    text = result.page.read_text()
    if where:
        assert result.style == "v1" and where in result.why and "{% cite " in text
    else:
        assert result.style == "plain" and "{%" not in text.replace("{% raw %}", "")


def test_another_style_needs_force_and_rewrites_only_the_block(tmp_path):
    site_dir = site_with(tmp_path / "site", SCHOLAR)
    page = export_tiny(site_dir).page
    edited = page.read_text().replace("See them below!", "See them below, friends!")
    page.write_text(edited)
    before = snapshot(site_dir)
    with pytest.raises(OutputError, match=r"has a v1 gallery; --style plain would rewrite its "
                                          r"gallery block as plain .* add --force"):
        export_tiny(site_dir, style="plain")
    assert snapshot(site_dir) == before
    result = export_tiny(site_dir, style="plain", force=True)
    text = page.read_text()
    assert result.style == "plain" and outside_block(text) == outside_block(edited)
    assert 'data-attnart-style="plain"' in text and "<figcaption>" in text
    again = export_tiny(site_dir)  # the page's own style is now plain
    assert again.style == "plain" and not again.page_written


def test_plain_page_is_the_users(tmp_path):
    title = 'Landscapes: "mine" # {{ site.title }}'
    result = export_tiny(site_with(tmp_path / "site"), title=title,
                         description="Pictures I made with {% raw %} 100% care.")
    text = result.page.read_text()
    fm = front_matter(text)
    assert fm["title"] == title and fm["layout"] == "page"
    assert str(fm["date"]) != "2025-11-04" and "excerpt" not in fm and "links" not in fm
    assert "Pictures I made with &#123;&#37; raw &#37;&#125; 100&#37; care." in text
    for author in ("As part of some research", "Overview", "Key Features", "References",
                   "2025-11-04", "super cool"):
        assert author not in text
    assert [alt for _, alt in gallery(text)] == ["Attention Dynamics Art 1",
                                                 f"{html_text(title)} 2", f"{html_text(title)} 3"]


def html_text(text: str) -> str:
    return str(jekyll.liquid_literal(text))


def test_dropping_with_pages_removes_the_pages_it_wrote(tmp_path):
    site_dir = site_with(tmp_path / "site")
    export_tiny(site_dir, with_pages=True)
    pages = site_dir / jekyll.PAGES_DIR
    written = sorted(p.relative_to(site_dir).as_posix() for p in pages.rglob("*") if p.is_file())
    (pages / "notes.txt").write_text("the author's")  # not in attnart's manifest: it stays
    result = export_tiny(site_dir)
    assert sorted(result.pages_removed) == written and len(written) > 5
    assert [p.name for p in pages.rglob("*")] == ["notes.txt"]
    assert "'/attnart/" not in result.page.read_text()
    assert export_tiny(site_dir).pages_removed == []


def test_the_gallery_assets_are_attnarts_own(tmp_path):
    site_dir = site_with(tmp_path / "site", **{"assets__attnart__gallery.css": "mine"})
    with pytest.raises(OutputError, match="gallery.css was not written by attnart jekyll"):
        export_tiny(site_dir)
    export_tiny(site_dir, force=True)
    manifest = json.loads((site_dir / jekyll.MANIFEST).read_text())
    assert manifest["files"] == ["assets/attnart/gallery.css", "assets/attnart/lightbox.js"]
    assert (site_dir / "assets/attnart/gallery.css").read_text() != "mine"


def test_cli_prints_the_style_and_the_url(tmp_path, capsys):
    seeds = tmp_path / "picks.toml"
    seeds.write_text('[collection]\ntitle = "From the seeds file"\n\n[[artwork]]\nseed = 7\n')
    site_dir = site_with(tmp_path / "site", "baseurl: /blog\ninclude: [_pages]\n")
    assert main(["jekyll", "--site-dir", str(site_dir), "--seeds", str(seeds),
                 *TINY_ARGS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("style: plain (no jekyll-scholar")
    assert out[-1] == "page: /blog/attention-dynamics-art/"
    assert front_matter((site_dir / AUTHOR_PAGE).read_text())["title"] == "From the seeds file"
    assert main(["jekyll", "--site-dir", str(site_dir), "--seeds", str(seeds), "--style", "v2",
                 *TINY_ARGS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--style v2 would rewrite" in err


def test_pages_behind_a_link_out_of_the_site_are_never_removed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".attnart-manifest.json").write_text('{"files": ["thesis.txt"]}')
    (elsewhere / "thesis.txt").write_text("years of work")
    site_dir = site_with(tmp_path / "site")
    (site_dir / "attnart").symlink_to(elsewhere)
    with pytest.raises(OutputError, match="outside .*through a symbolic link"):
        export_tiny(site_dir)
    assert (elsewhere / "thesis.txt").read_text() == "years of work"
