import html as html_lib
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from generator import jekyll
from generator.cli import main
from generator.errors import OutputError, SpecError
from generator.jekyll import GALLERY_END, GALLERY_START, build_context, export, update_page
from generator.spec import ArtworkSpec

CPU = torch.device("cpu")
TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
TINY_ARGS = ["--resolution", "32", "--iterations", "20", "--init", "shared", "--quiet"]
PAGE = Path("_pages/attention-dynamics-art.md")
# A Jekyll site needs only these to build the page: the theme's `page` layout reduced to its
# content, and jekyll-scholar's tags as no-ops (the real gem is not packaged by Debian).
STUB_LAYOUT = "{{ content }}\n"
STUB_PLUGIN = """\
Liquid::Template.register_tag('cite', Class.new(Liquid::Tag) { def render(_context) = '' })
Liquid::Template.register_tag('bibliography', Class.new(Liquid::Tag) { def render(_context) = '' })
"""


def make_spec(**overrides) -> ArtworkSpec:
    """Tiny artworks (32², 20 steps, shared X(0)): rendering one takes milliseconds."""
    return ArtworkSpec(**({"seed": 1679700} | TINY | overrides))


def three_specs() -> list[ArtworkSpec]:
    return [make_spec(seed=1, wq="identity", wv="identity", title="Attention Dynamics Art 1"),
            make_spec(seed=1679700), make_spec(seed=7)]


def export_tiny(site_dir: Path, specs=None, **kw):
    return export(specs or three_specs(), site_dir, device=CPU, **({"size": 32} | kw))


def front_matter(text: str) -> dict:
    """The YAML subset the page uses: `key: value` and one level of indented mapping."""
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "the page starts with a front matter block"
    data: dict = {}
    parent = None
    for line in match[1].splitlines():
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if line.startswith("  "):
            data[parent][key] = value
        elif value:
            data[key] = value
        else:
            parent = key
            data[key] = {}
    return data


LIQUID_URL = r"\{\{ '/([^']*)' \| relative_url \}\}"


def gallery(text: str) -> list[tuple[str, str]]:
    """(site path, alt) of each image between the markers, in order."""
    block = text.split(GALLERY_START)[1].split(GALLERY_END)[0]
    assert block.count('<div class="art-gallery">') == 1
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
    result = export_tiny(tmp_path, style=style)
    text = (tmp_path / PAGE).read_text()
    assert result.page_written and len(result.rendered) == 3
    fm = front_matter(text)
    assert fm["layout"] == "page" and fm["title"] == "Attention Dynamics Art"
    assert fm["date"] == "2025-11-04" and fm["math"] == "true"
    assert fm["links"] == {"paper": "/assets/docs/Attention_Dynamics_Art.pdf"}
    assert fm["excerpt"].startswith("Cool plots" if style == "v1" else "Generative art")
    assert gallery(text) == [(a["src"], a["alt"]) for a in
                             build_context(three_specs())["artworks"]]
    assert text.count('onclick="openLightbox(this.src)"') == 3
    assert '<div id="lightbox"' in text and "function closeLightbox()" in text
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
    result = export_tiny(tmp_path, reordered, style="v1")  # style matters for new pages only
    text = page.read_text()
    assert result.page_written and result.rendered == [reordered[2].id]
    assert outside_block(text) == outside_block(edited)
    assert [src for src, _ in gallery(text)] == [f"assets/images/art{s}_Large.png"
                                                 for s in (7, 1, 42)]
    assert front_matter(text)["title"] == "My Art" and front_matter(text)["tags"] == "[art]"
    assert {k: v for k, v in snapshot(tmp_path).items() if k in others} == others
    # a dropped artwork's image stays: the site's files are the author's to remove
    assert (tmp_path / "assets/images/art1679700_Large.png").exists()


def test_page_without_markers_gets_them_around_its_gallery(tmp_path):
    export_tiny(tmp_path)
    page = tmp_path / PAGE
    fresh = page.read_text()
    bare = fresh.replace(GALLERY_START + "\n", "").replace(GALLERY_END + "\n", "")
    page.write_text(bare.replace('alt="Attention Dynamics Art 1"', 'alt="old"'))
    assert export_tiny(tmp_path).page_written
    assert page.read_text() == fresh


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
    ({"style": "v3"}, SpecError, "style must be one of"),
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
            *TINY_ARGS]
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


# ---- real Jekyll -----------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("jekyll") is None,
                    reason="jekyll is not on PATH (make test installs Debian's package)")
@pytest.mark.parametrize("style, baseurl", [("v1", ""), ("v2", "/blog"), ("plain", "/project")])
def test_jekyll_builds_the_page_with_every_artwork(tmp_path, style, baseurl):
    """Served at a domain root or under a sub-path (a GitHub Pages project site); the plain
    page needs no plugin, so its site gets no stand-in for jekyll-scholar."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "_layouts").mkdir(parents=True)
    if style != "plain":
        (src / "_plugins").mkdir()
        (src / "_plugins/stubs.rb").write_text(STUB_PLUGIN)
    (src / "_layouts/page.html").write_text(STUB_LAYOUT)
    # the author's site lists _pages in its config; a bare site would skip the underscore folder
    (src / "_config.yml").write_text(f"include: [_pages]\nbaseurl: \"{baseurl}\"\n"
                                     "title: SITE-TITLE\n")
    # a title is shown as typed, never run as Liquid
    title = "{{ site.title }} {% raw %} 50% <b>"
    specs = three_specs()[:2] + [make_spec(seed=7, title=title)]
    export_tiny(src, specs, style=style)
    env = os.environ | {"HOME": str(tmp_path), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(["jekyll", "build", "--source", str(src), "--destination", str(dst)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    html = (dst / PAGE.with_suffix(".html")).read_text()
    for spec in specs:
        name = f"art{spec.seed}_Large.png"
        assert f'<img src="{baseurl}/assets/images/{name}"' in html
        built = dst / "assets/images" / name
        assert built.read_bytes() == (src / "assets/images" / name).read_bytes()
    assert html.count('onclick="openLightbox(this.src)"') == len(specs)
    assert "SITE-TITLE" not in html
    assert title in {html_lib.unescape(alt) for alt in re.findall(r'alt="([^"]*)"', html)}
    assert "attnart:gallery:start" in html  # the markers survive as comments, harmless
    assert not (dst / jekyll.CACHE_DIR).exists()  # the render cache stays out of the site
    assert "{%" not in html


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
    page = tmp_path / PAGE
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
