import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from shapes import koch_curve, round_disk, sierpinski_triangle, straight_edge

from generator.score import ScoreError, boundary, box_counting, score

N = 1024
# Known dimensions of the shapes' boundaries; the estimator must land within 0.03 at 1024².
SHAPES = [(straight_edge, 1.0), (round_disk, 1.0), (koch_curve, np.log(4) / np.log(3)),
          (sierpinski_triangle, np.log(3) / np.log(2))]


@pytest.mark.parametrize("shape,expected", SHAPES, ids=[s.__name__ for s, _ in SHAPES])
def test_known_dimensions(shape, expected):
    image = shape(N)
    fit = box_counting(boundary(image))
    assert abs(fit.dimension - expected) < 0.03
    assert fit.r2 > 0.99 and fit.box_sizes == (4, 256)
    assert box_counting(boundary(~image)) == fit  # black and white swapped


def test_score_is_symmetric_and_reports_both_scales():
    image = koch_curve(N)
    a, b = score(image).as_dict(), score(~image).as_dict()
    assert a["white_fraction"] == pytest.approx(1 - b["white_fraction"])
    assert a["raw_fractal_dimension"] == b["raw_fractal_dimension"]
    # the display image is 8-bit, whose rounding is not quite symmetric
    assert a["fractal_dimension"] == pytest.approx(b["fractal_dimension"], abs=0.01)
    assert a["display_size"] == 512 and a["box_sizes"] == [4, 128]
    assert abs(a["fractal_dimension"] - a["raw_fractal_dimension"]) < 0.05  # crisp: agree


def test_speckle_scores_what_the_viewer_sees():
    """Per-point landscapes are a convergence probability sampled once per pixel: speckle
    near edges. The display-scale score sees the smoothed edge, the raw one the noise."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[:N, :N]
    distance = np.hypot(y - N / 2, x - N / 2) - N * 0.37  # a disk's edge, then a ramp
    probability = np.clip(0.5 - distance / 80, 0, 1)
    speckled = rng.random((N, N)) < probability
    seen = score(speckled, display=256)
    assert seen.raw_fractal_dimension > 1.5  # the noise, measured at full resolution
    assert abs(seen.fractal_dimension - 1.0) < 0.25 < seen.raw_fractal_dimension - 1.25


@pytest.mark.parametrize("value", [True, False])
def test_uniform_images_score_zero_without_nan(value):
    result = score(np.full((300, 300), value))
    assert result.fractal_dimension == 0.0 and result.raw_fractal_dimension == 0.0
    assert result.white_fraction == float(value)
    assert not any(isinstance(v, float) and np.isnan(v) for v in result.as_dict().values())


def test_small_images():
    small = score(round_disk(40))  # under 64 px a side: boxes from 1 px
    assert small.box_sizes == (1, 8) and 0.5 < small.fractal_dimension < 1.5
    with pytest.raises(ScoreError, match="at least 16"):
        score(np.zeros((10, 10), bool))


def test_score_command_reads_any_black_and_white_image(tmp_path):
    path = tmp_path / "koch.png"
    Image.fromarray(np.where(koch_curve(N), 255, 0).astype(np.uint8)).save(path)
    result = subprocess.run([sys.executable, "-m", "generator.cli", "score", str(path),
                             "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert abs(data["fractal_dimension"] - np.log(4) / np.log(3)) < 0.05
    assert {"r2", "white_fraction", "raw_fractal_dimension", "traits"} <= set(data)
    colour = tmp_path / "colour.png"
    Image.fromarray(np.stack([np.where(koch_curve(64), 255, 0)] * 2 + [np.zeros((64, 64))], -1)
                    .astype(np.uint8)).save(colour)
    refused = subprocess.run([sys.executable, "-m", "generator.cli", "score", str(colour)],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "is in colour" in refused.stderr
    missing = subprocess.run([sys.executable, "-m", "generator.cli", "score",
                              str(tmp_path / "nope.png")], capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_per_point_seeds_of_different_structure_score_apart():
    """5227590 is broad soft bands, 6549664 a thin line in fine grey speckle (the paper's
    Figure 1, per-point X(0)): seen at a third of their size, they score well apart."""
    import torch

    from generator import rng
    from generator.render import render_labels
    from generator.spec import ArtworkSpec

    scores = {}
    for seed in (5227590, 6549664):
        spec = ArtworkSpec(seed=seed, resolution=384)
        labels = render_labels(spec, rng.draw(spec), device=torch.device("cpu"))
        scores[seed] = score(labels, display=128).fractal_dimension
    assert scores[6549664] - scores[5227590] > 0.1
