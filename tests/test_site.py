import json
import re
import shlex
from pathlib import Path

import pytest
import torch
from PIL import Image

from generator import cli, rng, site, theme
from generator.errors import OutputError, SpecError
from generator.render import describe
from generator.site import MANIFEST, build, build_context, site_files
from generator.spec import ArtworkSpec, render_command

CPU = torch.device("cpu")
TINY = {"resolution": 32, "iterations": 20, "init": "shared"}


def make_spec(**overrides) -> ArtworkSpec:
    """Tiny artworks (32², 20 steps, shared X(0)): rendering one takes milliseconds."""
    return ArtworkSpec(**({"seed": 1679700} | TINY | overrides))


def make_record(spec=None, **score_overrides) -> dict:
    """A record as `gather` makes it, without rendering: metadata from the spec's draws."""
    spec = spec or make_spec(**TINY)
    meta = describe(spec, rng.draw(spec)) | {"size": spec.resolution, "white_fraction": 0.4}
    meta |= {"title": spec.title, "wq": spec.canonical()["wq"], "wv": spec.canonical()["wv"]}
    sc = {"fractal_dimension": 1.2345, "r2": 0.99, "box_sizes": [1, 8], "display_size": 32,
          "raw_fractal_dimension": 1.3, "raw_r2": 0.98, "white_fraction": 0.4,
          "boundary_fraction": 0.05, "grey_fraction": 0.125, "grey_entropy": 2.5,
          "compression": 0.3125, "lacunarity": 1.75, "speckle": 0.0625, "solid_black": 0.25,
          "traits": {"structure": "intricate", "tone": "balanced"}}
    side = spec.resolution
    return {"meta": meta, "score": sc | score_overrides, "sides": {"thumb": side, "large": side}}


def three_records():
    return [make_record(make_spec(seed=s, title=f"Art {s}", **TINY)) for s in (1, 1679700, 7)]


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html) + [
        part.split()[0] for srcset in re.findall(r'srcset="([^"]*)"', html)
        for part in srcset.split(",") if part.strip()]


def build_tiny(tmp_path, specs, **kw):
    return build(specs, tmp_path / "site", device=CPU, backend="auto", **kw)


def write_seeds(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- the pure context ----------------------------------------------------------------------


def test_context_orders_and_links_artworks():
    ctx = build_context(three_records(), title="Gallery")
    arts = ctx["artworks"]
    assert [a["seed"] for a in arts] == [1, 1679700, 7]
    assert [a["anchor"] for a in arts] == ["seed-1", "seed-1679700", "seed-7"]
    assert arts[0]["previous"] is None and arts[0]["next"] == arts[1]["page"]
    assert arts[2]["next"] is None and arts[2]["previous"] == arts[1]["page"]
    assert arts[1]["page"] == f"artworks/{arts[1]['id']}.html"
    assert ctx["site"]["title"] == "Gallery"
    assert "1679700" in arts[1]["caption"] and "1.234" in arts[1]["caption"]


def test_context_repeated_seed_gets_distinct_anchors():
    records = [make_record(make_spec(seed=5, **TINY)),
               make_record(make_spec(seed=5, wq="identity", **TINY))]
    anchors = [a["anchor"] for a in build_context(records)["artworks"]]
    assert len(set(anchors)) == 2 and all(a.startswith("seed-5-") for a in anchors)


def test_context_matrices_show_four_decimals_as_appendix_b():
    # seed 1679700 on the cuda stream: W_Q of the paper's Appendix B (see README)
    art = build_context([make_record(make_spec(seed=1679700, **TINY))])["artworks"][0]
    (q, wq), (v, wv) = art["matrices"]
    assert (q, v) == ("Q", "V")
    assert wq == [["1.1646", "\u22120.0278"], ["\u22120.8054", "\u22120.9405"]]
    assert wv[0] == ["\u22121.9675", "\u22122.0948"]


def test_context_lists_every_parameter_and_score():
    art = build_context([make_record()])["artworks"][0]
    names = [name for name, _ in art["parameters"]]
    for word in ("n ", "d ", "T ", "window", "resolution", "init", "rng", "threshold"):
        assert any(n.startswith(word) for n in names), word
    scores = dict(art["scores"])
    assert scores["fractal dimension"] == "1.234"
    assert (scores["grey (mixed) share"], scores["grey-level entropy"]) == ("12.5%", "2.50 bits")
    assert scores["compression complexity (zlib)"] == "0.312"  # 0.3125 rounds to even
    assert scores["lacunarity (gliding box)"] == "1.750"
    assert art["traits"] == {"structure": "intricate", "tone": "balanced"}


def test_context_paths_are_relative_without_base_url():
    ctx = build_context(three_records())
    for art in ctx["artworks"]:
        paths = [art["page"], art["images"]["full"], art["metadata"]["image"],
                 art["metadata"]["external_url"]] + [p for p, _ in art["images"]["srcset_webp"]]
        assert all(not p.startswith("/") and "://" not in p for p in paths)


def test_metadata_follows_erc721_and_opensea():
    ctx = build_context(three_records(), title="G", base_url="https://example.org/art/")
    meta = ctx["artworks"][1]["metadata"]
    assert set(meta) == {"name", "description", "image", "external_url", "attributes"}
    assert meta["name"] == "Art 1679700"
    assert meta["image"] == f"https://example.org/art/images/{ctx['artworks'][1]['id']}.png"
    assert meta["external_url"].startswith("https://example.org/art/artworks/")
    for attr in meta["attributes"]:
        assert set(attr) <= {"trait_type", "value", "display_type"}
        numeric = isinstance(attr["value"], (int, float))
        assert (attr.get("display_type") == "number") == numeric
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits["Seed"] == 1679700 and traits["Structure"] == "intricate"
    assert ctx["collection"]["name"] == "G"
    assert ctx["collection"]["external_link"] == "https://example.org/art/index.html"


@pytest.mark.parametrize("overrides", [{}, {"wq": "identity", "wv": "0.5,-1,2,3e-7"},
                                       {"window": (-2.5, 3.0, -1.0, 1.0), "threshold": 1e-3},
                                       {"shade": "speed", "palette": "kbc"},
                                       {"shade": "speed",
                                        "palette": ("#000000", "#ff8800", "#FFFFFF")}])
def test_render_command_recreates_the_same_spec(overrides):
    spec = make_spec(**TINY | overrides)
    command = render_command(make_record(spec)["meta"])
    argv = cli._join_list_values(shlex.split(command)[1:])
    assert cli._spec(cli._parser().parse_args(argv)).id == spec.id


# ---- the pages -----------------------------------------------------------------------------


def test_page_text_is_autoescaped():
    records = [make_record(make_spec(title="<script>alert(1)</script>", **TINY))]
    files = site_files(build_context(records, title="<script>alert(2)</script>"))
    for name in ("index.html", f"artworks/{records[0]['meta']['id']}.html"):
        html = files[name].decode()
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_pages_link_only_to_the_sites_own_files():
    ctx = build_context(three_records())
    files = site_files(ctx)
    images = {f"images/{a['id']}{s}" for a in ctx["artworks"]
              for s in (".png", ".json", "-thumb.png", "-thumb.webp", "-large.png",
                        "-large.webp")}
    for name, data in files.items():
        if not name.endswith(".html"):
            continue
        folder = Path(name).parent
        for link in links(data.decode()):
            assert "://" not in link and not link.startswith("/"), (name, link)
            if link.startswith(("#", "data:")):
                continue
            target = (folder / link.split("#")[0]).as_posix()
            target = re.sub(r"[^/]+/\.\./", "", target)
            assert target in files or target in images, (name, link)


def test_index_has_tiles_lightbox_and_fallback_links():
    ctx = build_context(three_records())
    html = site_files(ctx)["index.html"].decode()
    for art in ctx["artworks"]:
        assert f'id="{art["anchor"]}"' in html
        assert f'href="{art["page"]}"' in html  # works without JavaScript
    assert 'loading="lazy"' in html and 'type="image/webp"' in html
    assert 'src="static/lightbox.js"' in html
    assert 'class="lb-close"' in html and 'role="dialog"' in html
    script = (theme.builtin() / "static" / "lightbox.js").read_text()
    for word in ("Escape", "ArrowLeft", "ArrowRight", "pointerdown", "hashchange", "Tab"):
        assert word in script
    assert "http" not in script


def test_artwork_page_shows_spec_scores_and_command():
    ctx = build_context(three_records())
    art = ctx["artworks"][1]
    html = site_files(ctx)[art["page"]].decode()
    assert 'class="matrix-body"' in html and "<td>1.1646</td>" in html
    assert f'href="../{art["images"]["full"]}" download' in html
    assert '<span class="arg">attnart</span> <span class="arg">render</span>' in html
    assert "<dt>lacunarity (gliding box)</dt><dd>1.750</dd>" in html
    assert 'rel="prev"' in html and 'rel="next"' in html


# ---- building into a folder ----------------------------------------------------------------


def test_build_writes_the_site_and_caches_by_spec_id(tmp_path):
    specs = [make_spec(seed=1, title="One", **TINY), make_spec(seed=1679700, **TINY)]
    out = tmp_path / "site"
    first = build_tiny(tmp_path, specs)
    assert first.rendered == [s.id for s in specs]
    for spec in specs:
        for suffix in (".png", ".json", ".score.json", "-thumb.webp", "-thumb.png",
                       "-large.webp", "-large.png"):
            assert (out / "images" / f"{spec.id}{suffix}").is_file()
        assert (out / "artworks" / f"{spec.id}.html").is_file()
        meta = json.loads((out / "metadata" / f"{spec.id}.json").read_text())
        assert meta["image"] == f"../images/{spec.id}.png"  # resolves from metadata/
    with Image.open(out / "images" / f"{specs[0].id}-thumb.webp") as im:
        assert im.format == "WEBP" and im.size == (32, 32)
    assert (out / "index.html").is_file() and (out / "metadata" / "collection.json").is_file()
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert "index.html" in manifest and f"images/{specs[0].id}.png" in manifest

    assert build_tiny(tmp_path, specs).rendered == []

    changed = [specs[0], make_spec(seed=1679700, **TINY | {"iterations": 21})]
    third = build_tiny(tmp_path, changed)
    assert third.rendered == [changed[1].id]
    assert not (out / "images" / f"{specs[1].id}.png").exists()  # stale, the tool's own
    assert f"artworks/{specs[1].id}.html" in third.removed


def test_rebuild_keeps_files_the_tool_did_not_write(tmp_path):
    out = tmp_path / "site"
    (out / "images").mkdir(parents=True)
    mine = [out / "notes.txt", out / "images" / "photo.png", out / "artworks" / "x.html"]
    build_tiny(tmp_path, [make_spec(seed=1, **TINY)])
    for path in mine:
        path.parent.mkdir(exist_ok=True)
        path.write_text("mine")
    build_tiny(tmp_path, [make_spec(seed=2, **TINY)])
    assert all(p.read_text() == "mine" for p in mine)


def test_failed_build_leaves_the_previous_site(tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_tiny(tmp_path, [make_spec(seed=1, **TINY)])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(site, "site_files", broken)
    with pytest.raises(KeyboardInterrupt):
        build_tiny(tmp_path, [make_spec(seed=1, **TINY)], title="New")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_cli_build_passes_title_base_url_and_resolution(tmp_path):
    seeds = write_seeds(tmp_path / "s.toml", '[[artwork]]\nseed = 3\ntitle = "Three"\n')
    out = tmp_path / "out"
    rc = cli.main(["build", "--seeds", str(seeds), "--out", str(out), "--resolution", "32",
                   "--iterations", "20", "--init", "shared", "--device", "cpu", "--quiet",
                   "--title", "My <Gallery>", "--base-url", "https://example.org/g/"])
    assert rc == 0
    spec = make_spec(seed=3, **TINY)
    meta = json.loads((out / "metadata" / f"{spec.id}.json").read_text())
    assert meta["image"] == f"https://example.org/g/images/{spec.id}.png"
    assert meta["name"] == "Three"
    assert "My &lt;Gallery&gt;" in (out / "index.html").read_text()


def test_build_refuses_to_overwrite_files_it_did_not_write(tmp_path):
    out = tmp_path / "site"
    (out / "static").mkdir(parents=True)
    (out / "index.html").write_text("the user's own page")
    (out / "static" / "gallery.css").write_text("the user's own style")
    with pytest.raises(OutputError, match="index.html .and 1 more files. was not written"):
        build([make_spec(seed=3, **TINY)], out, device=CPU)
    assert (out / "index.html").read_text() == "the user's own page"
    assert (out / "static" / "gallery.css").read_text() == "the user's own style"
    assert not (out / MANIFEST).exists()


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_everything_is_checked_before_the_first_write(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the user's own page")
    with pytest.raises(OutputError, match="use --force"):
        build_tiny(tmp_path, [make_spec(seed=3, **TINY)])
    assert [p.name for p in out.iterdir()] == ["index.html"]  # no render, no folder
    result = build_tiny(tmp_path, [make_spec(seed=3, **TINY)], force=True)
    assert result.rendered and "lightbox.js" in (out / "index.html").read_text()


def test_a_file_where_a_folder_goes_is_one_clear_error(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "images").write_text("not a folder")
    with pytest.raises(OutputError, match="images is a file where the folder images/ goes"):
        build_tiny(tmp_path, [make_spec(seed=3, **TINY)])


def test_interrupted_build_leaves_files_the_next_build_owns(tmp_path, monkeypatch):
    out = tmp_path / "site"
    build_tiny(tmp_path, [make_spec(seed=1, **TINY)])
    real = site.score

    def interrupt_second(labels, **kw):
        if interrupt_second.calls:
            raise KeyboardInterrupt
        interrupt_second.calls += 1
        return real(labels, **kw)

    interrupt_second.calls = 0
    monkeypatch.setattr(site, "score", interrupt_second)
    doomed = [make_spec(seed=5, **TINY), make_spec(seed=6, **TINY)]
    with pytest.raises(KeyboardInterrupt):
        build_tiny(tmp_path, [make_spec(seed=1, **TINY), *doomed])
    monkeypatch.undo()
    left = {p.name for p in (out / "images").iterdir()}
    assert any(n.startswith(doomed[0].id) for n in left)  # it got that far
    result = build_tiny(tmp_path, [make_spec(seed=1, **TINY)])
    assert not any(n.startswith(s.id) for s in doomed for n in
                   (p.name for p in (out / "images").iterdir()))
    assert any(n.startswith(f"images/{doomed[0].id}") for n in result.removed)


def test_rebuild_with_nothing_new_writes_nothing(tmp_path):
    specs = [make_spec(seed=1, **TINY), make_spec(seed=2, **TINY)]
    build_tiny(tmp_path, specs)
    before = snapshot(tmp_path / "site")
    result = build_tiny(tmp_path, specs)
    assert result.rendered == [] and snapshot(tmp_path / "site") == before


def test_damaged_cached_render_is_rendered_again(tmp_path, capsys):
    seeds = write_seeds(tmp_path / "s.toml", "[[artwork]]\nseed = 3\n")
    args = ["build", "--seeds", str(seeds), "--out", str(tmp_path / "site"), "--resolution",
            "32", "--iterations", "20", "--init", "shared", "--device", "cpu", "--quiet"]
    assert cli.main(args) == 0
    png = tmp_path / "site" / "images" / f"{make_spec(seed=3, **TINY).id}.png"
    good = png.read_bytes()
    with open(png, "r+b") as f:
        f.truncate(100)
    capsys.readouterr()
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{png} was damaged" in err and "made it again" in err
    assert png.read_bytes() == good


@pytest.mark.parametrize("url, message", [
    ("example.org", "absolute http"), ("ftp://example.org/", "absolute http"),
    ("https://example.org/?q=1", "query or fragment"), ("/art/", "absolute http"),
])
def test_base_url_must_be_absolute(tmp_path, url, message):
    with pytest.raises(SpecError, match=message):
        build_tiny(tmp_path, [make_spec(seed=3, **TINY)], base_url=url)
    assert not (tmp_path / "site").exists()


def test_base_url_is_quoted(tmp_path):
    spec = make_spec(seed=3, **TINY)
    build_tiny(tmp_path, [spec], base_url="https://example.org/my art/é")
    meta = json.loads((tmp_path / "site" / "metadata" / f"{spec.id}.json").read_text())
    assert meta["image"] == f"https://example.org/my%20art/%C3%A9/images/{spec.id}.png"


def test_scores_cached_by_an_older_attnart_are_measured_again(tmp_path):
    spec = make_spec(**TINY)
    build_tiny(tmp_path, [spec])
    path = tmp_path / "site" / "images" / f"{spec.id}.score.json"
    fresh = json.loads(path.read_text())
    old = {k: v for k, v in fresh.items() if k not in ("grey_entropy", "lacunarity")}
    path.write_text(json.dumps(old))
    result = build_tiny(tmp_path, [spec])
    assert result.rendered == [] and json.loads(path.read_text()) == fresh
    path.write_text(json.dumps(fresh | {"estimator": 1, "fractal_dimension": 1.9}))
    result = build_tiny(tmp_path, [spec])  # scored by an earlier estimator
    assert result.rendered == [] and json.loads(path.read_text()) == fresh
    page = (tmp_path / "site" / "artworks" / f"{spec.id}.html").read_text()
    assert "<dt>grey-level entropy</dt>" in page


def test_renders_cached_under_a_former_id_are_reused(tmp_path):
    """attnart 0.1 counted the CUDA profile in every id; its renders are recognised."""
    spec = make_spec(seed=3, **TINY)
    (former,) = spec.former_ids()
    build_tiny(tmp_path, [spec])
    images = tmp_path / "site" / "images"
    for suffix in (".png", ".json"):  # as 0.1 left them
        (images / f"{spec.id}{suffix}").rename(images / f"{former}{suffix}")
    manifest = tmp_path / "site" / MANIFEST
    listed = json.loads(manifest.read_text())["files"]
    manifest.write_text(json.dumps({"files": listed + [f"images/{former}.png",
                                                       f"images/{former}.json"]}))
    result = build_tiny(tmp_path, [spec])
    assert result.rendered == [] and (images / f"{spec.id}.png").is_file()
    assert json.loads((images / f"{spec.id}.json").read_text())["id"] == spec.id
    assert not (images / f"{former}.png").exists()  # the former name, the build's own, is gone


# ---- the collection, traits and sharing ---------------------------------------------------


def test_collection_fields_reach_pages_and_metadata():
    ctx = build_context(three_records(), title="G", text="Three studies.", artist="Ada L",
                        license="CC-BY-4.0")
    files = site_files(ctx)
    index = files["index.html"].decode()
    assert "Three studies." in index and "by Ada L" in index and "CC-BY-4.0" in index
    assert "<h1>G</h1>" in index and 'class="site-title"' not in index  # the title shown once
    for art in ctx["artworks"]:
        page = files[art["page"]].decode()
        assert "Ada L" in page and "CC-BY-4.0" in page
        meta = json.loads(files[art["metadata_path"]])
        assert meta["artist"] == "Ada L" and meta["license"] == "CC-BY-4.0"
        assert meta["description"].endswith("Three studies.")
    collection = json.loads(files["metadata/collection.json"])
    assert collection["description"] == "Three studies." and collection["name"] == "G"
    bare = json.loads(site_files(build_context(three_records()))[art["metadata_path"]])
    assert "artist" not in bare and "license" not in bare


def test_default_text_says_what_the_pictures_show():
    binary, colour = make_record(make_spec()), make_record(make_spec(shade="speed",
                                                                     palette="fire"))
    assert "White where" in build_context([binary])["site"]["text"]
    assert "Coloured by how soon" in build_context([colour])["site"]["text"]
    assert "or coloured" in build_context([binary, colour])["site"]["text"]


def test_every_trait_is_browsable_with_counts_and_shares():
    records = three_records()
    records[0]["score"]["traits"] = {"structure": "smooth", "tone": "dark"}
    ctx = build_context(records)
    traits = {t["key"]: dict(t["values"]) for t in ctx["traits"]}
    assert traits["structure"] == {"intricate": 2, "smooth": 1}
    assert traits["dimension"] == {"1.2–1.3": 3} and traits["shade"] == {"binary": 3}
    words = {a["trait_type"] for a in ctx["artworks"][0]["metadata"]["attributes"]
             if "display_type" not in a}
    assert {t["name"] for t in ctx["traits"]} == words  # every trait the metadata lists
    shares = {t["name"]: t["share"] for t in ctx["artworks"][0]["trait_shares"]}
    assert shares["Structure"] == pytest.approx(1 / 3) and shares["Init"] == 1
    index = site_files(ctx)["index.html"].decode()
    assert 'data-trait-structure="smooth"' in index and "smooth (1)" in index
    page = site_files(ctx)[ctx["artworks"][0]["page"]].decode()
    assert "33 % of this collection" in page


@pytest.mark.parametrize("dimension, band", [(1.0, "1.0–1.1"), (1.2994, "1.2–1.3"),
                                             (1.2996, "1.3–1.4"), (1.3, "1.3–1.4"),
                                             (1.96, "1.9–2.0")])
def test_dimension_band(dimension, band):
    assert site.dimension_band(dimension) == band


def test_seeds_collection_table_and_the_command_line_that_wins(tmp_path, capsys):
    seeds = write_seeds(tmp_path / "s.toml", '[collection]\ntitle = "From the file"\n'
                        'description = """Two\nlines."""\nartist = "File Artist"\n\n'
                        '[[artwork]]\nseed = 1\nresolution = 32\niterations = 20\n')
    out = tmp_path / "site"
    assert cli.main(["build", "--seeds", str(seeds), "--out", str(out), "--quiet",
                     "--artist", "Me"]) == 0
    index = (out / "index.html").read_text()
    assert "<h1>From the file</h1>" in index and "Two lines." in index
    assert "by Me" in index and "File Artist" not in index
    bad = write_seeds(tmp_path / "bad.toml", '[collection]\nartst = "x"\n\n[[artwork]]\nseed = 1\n')
    assert cli.main(["build", "--seeds", str(bad), "--out", str(out), "--quiet"]) == 2
    assert "unknown [collection] key(s) artst" in capsys.readouterr().err
    assert cli.main(["build", "--seeds", str(seeds), "--out", str(out), "--quiet",
                     "--license", "a\u202eb"]) == 2
    assert "U+202E" in capsys.readouterr().err


def test_sharing_needs_a_base_url(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    specs = [make_spec(seed=s, title=f"Art {s}") for s in (1, 7)]
    out = tmp_path / "site"
    seeds = write_seeds(tmp_path / "s.toml", "".join(
        f'[[artwork]]\nseed = {s.seed}\ntitle = "{s.title}"\n' for s in specs))
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--resolution", "32",
            "--iterations", "20", "--init", "shared"]
    assert cli.main(args) == 0
    assert "no --base-url" in capsys.readouterr().err
    assert not list(out.rglob("*card*")) and not (out / "feed.xml").exists()
    assert "og:image" not in (out / "index.html").read_text()

    assert cli.main(args + ["--base-url", "https://example.org/art/"]) == 0
    assert "no --base-url" not in capsys.readouterr().err
    pages = ["index.html"] + [f"artworks/{s.id}.html" for s in specs]
    for page, spec in zip(pages, [specs[0], *specs]):
        html = (out / page).read_text()
        card = f"https://example.org/art/images/{spec.id}-card.png"
        assert f'<meta property="og:image" content="{card}">' in html, page
        assert '<meta name="twitter:card" content="summary_large_image">' in html
        with Image.open(out / "images" / f"{spec.id}-card.png") as image:
            assert image.size == (1200, 630)
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / "feed.xml").getroot()
    entries = feed.findall(f"{atom}entry")
    assert [e.find(f"{atom}title").text for e in entries] == ["Art 1", "Art 7"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e.find(f"{atom}updated").text)
               for e in entries)
    sitemap = ET.parse(out / "sitemap.xml").getroot()
    locs = [u.find("{http://www.sitemaps.org/schemas/sitemap/0.9}loc").text for u in sitemap]
    lives = [f"live/{s.id}.html" for s in specs]
    assert locs == ["https://example.org/art/" + p for p in [pages[0], pages[1], lives[0],
                                                             pages[2], lives[1]]]
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert "feed.xml" in manifest and f"images/{specs[0].id}-card.png" in manifest
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert cli.main(args + ["--base-url", "https://example.org/art/"]) == 0
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    assert cli.main(args) == 0  # the base URL dropped: its files go with it
    assert not (out / "feed.xml").exists() and not list(out.rglob("*card*"))
