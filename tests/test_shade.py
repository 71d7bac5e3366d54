"""Colour from the speed field: palettes, per-class equalisation, the colour render."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from generator import rng, shade
from generator.cli import main
from generator.errors import SpecError
from generator.render import render_field
from generator.spec import ArtworkSpec, load_seeds

SMALL = ["--resolution", "32", "--iterations", "40", "--init", "shared", "--quiet"]


def random_field(seed: int, size: int = 5000) -> np.ndarray:
    """Both classes as the kernels make them: steps 1..101 and mean spreads in [-2, 0], with
    ties, as real fields have."""
    gen = np.random.default_rng(seed)
    synced = gen.integers(1, 102, size).astype(np.float32)
    apart = -np.round(gen.uniform(0, 2, size), 2).astype(np.float32)
    return np.where(gen.random(size) < gen.random(), synced, apart)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equalisation_is_monotone_and_keeps_the_classes_apart(seed):
    field = random_field(seed)
    positions = shade.Equaliser.fit(field).positions(field)
    order = np.argsort(field, kind="stable")
    assert np.all(np.diff(positions[order]) >= 0)  # monotone in the field
    assert positions.min() >= 0 and positions.max() <= 1
    apart, synced = positions[field <= 0], positions[field > 0]
    assert apart.max() <= 0.5 - shade.GAP / 2 < 0.5 + shade.GAP / 2 <= synced.min()
    # Each class fills its half evenly: its quartiles sit near the half's quartiles.
    for values, low in ((apart, 0.0), (synced, 0.5 + shade.GAP / 2)):
        quartiles = (np.quantile(values, [0.25, 0.5, 0.75]) - low) / (0.5 - shade.GAP / 2)
        np.testing.assert_allclose(quartiles, [0.25, 0.5, 0.75], atol=0.05)


def test_equaliser_fitted_once_applies_to_other_fields():
    keyframe, other = random_field(4), random_field(5) * 1.5
    equaliser = shade.Equaliser.fit(keyframe)
    positions = equaliser.positions(other)  # values past the keyframes' clamp to the ends
    assert positions[other > 0].min() >= 0.5 + shade.GAP / 2 and positions.max() <= 1
    np.testing.assert_array_equal(equaliser.positions(keyframe),
                                  shade.Equaliser.fit(keyframe).positions(keyframe))


def test_nan_and_missing_class():
    field = np.array([np.nan, 3.0, 7.0], dtype=np.float32)
    positions = shade.Equaliser.fit(field).positions(field)
    assert positions[0] == 0 and 0.5 < positions[1] < positions[2] == 1
    assert np.all(shade.Equaliser.fit(field[1:]).positions(-field[1:]) < 0.5)


def test_colourise_uses_both_ends_of_the_palette():
    colours = ("#000000", "#ff0000", "#00ff00", "#ffffff")
    field = random_field(6)
    rgb = shade.colourise(field, colours)
    assert rgb.shape == (*field.shape, 3) and rgb.dtype == np.uint8
    assert (rgb[field <= 0][:, 1] == 0).all() and (rgb[field > 0][:, 2] == 0).sum() > 0
    assert {tuple(c) for c in rgb[field <= 0]} == {(0, 0, 0), (255, 0, 0)}
    assert {tuple(c) for c in rgb[field > 0]} == {(0, 255, 0), (255, 255, 255)}


@pytest.mark.parametrize("name", shade.PALETTES)
def test_named_palettes_are_colorcets(name):
    colours = shade.rgb(name)
    assert colours.shape[1] == 3 and len(colours) >= 64 and len(np.unique(colours, axis=0)) > 32


@pytest.mark.parametrize("text, message", [
    ("#ff0000 #00ff0", "'#00ff0' is not a colour"),
    ("red, blue", "'red' is not a colour"),
    ("#123456", "at least 2 colours"),
    ("", "at least 2 colours"),
])
def test_bad_palette_files(tmp_path, text, message):
    path = tmp_path / "p.txt"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        shade.read_palette_file(path)


def test_palette_file_formats(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("// mine\n#FF0000, 00ff00\n#0000ff\n")
    assert shade.read_palette_file(path) == ("#ff0000", "#00ff00", "#0000ff")


def test_spec_shade_and_palette():
    binary = ArtworkSpec(seed=5)
    speed = ArtworkSpec(seed=5, shade="speed")
    assert speed.palette == shade.DEFAULT_PALETTE and binary.palette is None
    assert "shade" not in binary.canonical()  # binary artworks keep their ids
    ids = {binary.id, speed.id, ArtworkSpec(seed=5, shade="speed", palette="kbc").id,
           ArtworkSpec(seed=5, shade="speed", palette=["#000000", "#ffffff"]).id}
    assert len(ids) == 4
    again = ArtworkSpec.from_dict(json.loads(json.dumps(speed.canonical())))
    assert again == speed and again.id == speed.id
    for bad, message in ((dict(shade="fast"), "shade must be one of"),
                         (dict(palette="fire"), "add shade = speed"),
                         (dict(shade="speed", palette="jet"), "unknown palette"),
                         (dict(shade="speed", palette=["#fff"]), "not a colour")):
        with pytest.raises(SpecError, match=message):
            ArtworkSpec(seed=5, **bad)


def test_seeds_files_set_shade_and_palette(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[artwork]]\nseed = 1\n\n[[artwork]]\nseed = 1\nshade = "speed"\n'
                    'palette = "bmy"\n')
    binary, colour = load_seeds(path)
    assert binary.shade == "binary" and (colour.shade, colour.palette) == ("speed", "bmy")


def test_colour_render_through_the_cli(tmp_path):
    out = tmp_path / "art.png"
    assert main(["render", "8012376", *SMALL, "--shade", "speed", "--palette", "kbc",
                 "-o", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["shade"] == "speed" and meta["palette"] == "kbc"
    spec = ArtworkSpec(seed=8012376, resolution=32, iterations=40, init="shared",
                       shade="speed", palette="kbc")
    assert meta["id"] == spec.id
    labels, _ = render_field(spec, rng.draw(spec), device="cpu")
    image = np.asarray(Image.open(out))
    assert image.shape == (32, 32, 3)
    # Each pixel's colour is on its class's side of the palette's gap.
    colours = shade.rgb("kbc").astype(int)
    index = np.abs(image.reshape(-1, 1, 3) - colours[None]).sum(-1).argmin(1).reshape(32, 32)
    upper = index / (len(colours) - 1) > 0.5
    np.testing.assert_array_equal(upper, labels.T[::-1])
    assert 0 < labels.mean() < 1


def test_palette_file_through_the_cli(tmp_path):
    (tmp_path / "mine.txt").write_text("#000000\n#ff0000\n#ffff00\n#ffffff\n")
    out = tmp_path / "art.png"
    assert main(["render", "8012376", *SMALL, "--shade", "speed", "--palette-file",
                 str(tmp_path / "mine.txt"), "-o", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["palette"] == ["#000000", "#ff0000", "#ffff00", "#ffffff"]
    assert set(map(tuple, np.asarray(Image.open(out)).reshape(-1, 3))) <= \
        {(0, 0, 0), (255, 0, 0), (255, 255, 0), (255, 255, 255)}


@pytest.mark.parametrize("args, message", [
    (["--shade", "speed", "--palette", "jet"], "unknown palette 'jet'"),
    (["--palette", "fire", "--shade", "binary"], "drop --shade binary"),
    (["--shade", "speed", "--palette", "fire", "--palette-file", "x.txt"], "not both"),
    (["--shade", "speed", "--palette-file", "missing.txt"], "cannot be read"),
    (["--shade", "speed", "--palette-file", "bad.txt"], "'#12345g' is not a colour"),
])
def test_bad_colour_options_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "bad.txt").write_text("#000000 #12345g")
    result = subprocess.run([sys.executable, "-m", "generator.cli", "render", "1", *SMALL,
                             *args, "-o", "out.png"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


def test_named_palette_without_colorcet_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "colorcet", None)
    with pytest.raises(SpecError, match=r"attention-art\[colour\]"):
        shade.rgb("fire")


def test_gallery_publishes_colour_artworks_scored_by_their_labels(tmp_path):
    from generator.render import render_labels
    from generator.score import score
    from generator.site import build

    tiny = dict(resolution=32, iterations=20, init="shared")
    colour = ArtworkSpec(seed=1679700, shade="speed", palette="gouldian", **tiny)
    binary = ArtworkSpec(seed=1679700, **tiny)
    build([colour, binary], tmp_path / "site", device="cpu")
    images = tmp_path / "site" / "images"
    with Image.open(images / f"{colour.id}.png") as im:
        assert im.mode == "RGB"
    scores = [json.loads((images / f"{s.id}.score.json").read_text()) for s in (colour, binary)]
    assert scores[0] == scores[1]  # the colours' classes are the binary labels
    labels = render_labels(binary, rng.draw(binary), device="cpu")
    assert scores[0]["white_fraction"] == score(labels.T[::-1]).as_dict()["white_fraction"]
    meta = json.loads((tmp_path / "site" / "metadata" / f"{colour.id}.json").read_text())
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits["Palette"] == "gouldian" and traits["Shade"] == "speed"
    page = (tmp_path / "site" / "artworks" / f"{colour.id}.html").read_text()
    assert ('<span class="arg">--shade</span> <span class="arg">speed</span> '
            '<span class="arg">--palette=gouldian</span>') in page
