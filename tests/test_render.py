import numpy as np
import pytest
import torch
from paper_reference import appendix_a

from generator import rng
from generator.render import render_labels, to_image

CPU = torch.device("cpu")


def paper_pixels(spec):
    """What the paper's own code draws for `spec`, fed the package's random draws."""
    draws = rng.draw(spec)
    grid = spec.resolution**2
    x_grid = torch.from_numpy(draws.initial(0, grid, CPU)).expand(grid, spec.points, 2)
    amin, amax, bmin, bmax = spec.window
    return appendix_a(torch.tensor(draws.wq), torch.tensor(draws.wv), x_grid,
                      spec.resolution, spec.iterations, (amin, amax), (bmin, bmax),
                      spec.threshold)


def package_pixels(spec, backend="auto"):
    labels = render_labels(spec, rng.draw(spec), device=CPU, backend=backend)
    return np.asarray(to_image(labels))


@pytest.mark.parametrize("init", ["shared", "per-point"])
@pytest.mark.parametrize("seed,extra", [
    (1679700, {}), (8012376, {}), (1, {"wq": "identity", "wv": "identity"}),
    (5227590, {"window": (-3.0, 5.0, -8.0, 1.5), "points": 7, "iterations": 40}),
])
def test_landscape_matches_appendix_a(spec_factory, init, seed, extra):
    spec = spec_factory(seed=seed, init=init, resolution=40, **extra)
    expected = paper_pixels(spec)
    got = package_pixels(spec)
    assert got.shape == expected.shape == (40, 40)
    assert (got == expected).mean() >= 0.999
    assert 0 < (expected == 255).mean() < 1 or seed == 1  # a picture, not a blank


def test_orientation_quadrants(spec_factory):
    """b runs left to right and a bottom to top: a quadrant of the window is that corner."""
    full = package_pixels(spec_factory(seed=8012376, resolution=33), "reference")
    half = 16  # 33 samples of [-8, 8] step 0.5; 17 samples of [0, 8] hit the same points
    corners = {
        (0.0, 8.0, 0.0, 8.0): full[:half + 1, half:],  # a > 0, b > 0: top right
        (0.0, 8.0, -8.0, 0.0): full[:half + 1, :half + 1],  # a > 0, b < 0: top left
        (-8.0, 0.0, 0.0, 8.0): full[half:, half:],  # a < 0, b > 0: bottom right
    }
    for window, corner in corners.items():
        part = package_pixels(spec_factory(seed=8012376, resolution=17, window=window),
                              "reference")
        np.testing.assert_array_equal(part, corner, err_msg=str(window))
    # the check has teeth only if the corners differ from their mirror images
    assert not np.array_equal(full[:half + 1, half:], full[half:, half:][::-1])
    assert not np.array_equal(full[:half + 1, half:], full[:half + 1, :half + 1][:, ::-1])


def test_downsample_is_antialiased(spec_factory):
    labels = render_labels(spec_factory(resolution=64), rng.draw(spec_factory(resolution=64)),
                           device=CPU, backend="reference")
    small = np.asarray(to_image(labels, 16))
    assert small.shape == (16, 16)
    assert ((small > 0) & (small < 255)).any()  # grey edge pixels: smoothed, not sampled
    assert abs(small.mean() / 255 - labels.mean()) < 0.05
