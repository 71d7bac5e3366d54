"""Boundary complexity of a landscape: box-counting fractal dimension, coverage, traits.

A landscape is a boolean image (True = white = synchronised). Its boundary is the crack
between the colours: the pixel corners whose four pixels are not all alike. That line is one
pixel thin and the same whichever colour is called white; a pixel-wide rim
(`skimage.segmentation.find_boundaries`) is either one-sided or, made symmetric, two pixels
thick, which biased every test shape upwards by 0.03-0.07. The box-counting dimension is the
least-squares slope of log N(s) against log(1/s), where N(s) counts the s×s boxes the
boundary touches (`skimage.measure.block_reduce`), for s = 4, 8, 16, ... up to a quarter of
the image's shorter side: smaller boxes see the rasterisation, and fewer than four boxes a
side see the frame rather than the shape. On the 1024² rasterisations of `tests/shapes.py`
this gives 0.986 for a slanted straight edge, 1.019 for a disk (both 1), 1.244 for the Koch
curve (1.262) and 1.590 for the Sierpinski triangle (1.585). Images under 64 pixels a side
fit from s = 1.

Per-point landscapes (the paper's code) are speckle near the boundary: box counting on the
raw pixels measures noise (D ≈ 2 for every seed). What a viewer sees is the antialiased
downsample, so the headline `fractal_dimension` is measured on the image downsampled to
`display` pixels a side and thresholded at 50 %; `raw_fractal_dimension` reports the full
resolution beside it. For crisp (shared X(0)) landscapes the two agree closely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image
from skimage.measure import block_reduce

from generator.errors import ArtError

MIN_SIDE = 16  # below this there are fewer than three box sizes to fit a slope to
SMALLEST_BOX = 4  # pixels; 1 on images under 16 * SMALLEST_BOX a side
DISPLAY = 512  # side of the displayed image the headline score measures


class ScoreError(ArtError, ValueError):
    """An image that cannot be scored."""


@dataclass(frozen=True)
class BoxCount:
    dimension: float  # slope of log N(s) against log(1/s); 0.0 for an empty boundary
    r2: float  # coefficient of determination of that fit; 1.0 when trivially exact
    box_sizes: tuple[int, int]  # smallest and largest box side of the fit, in pixels


def box_counting(mask: np.ndarray) -> BoxCount:
    """Box-counting dimension of the True pixels of a 2-D boolean `mask`."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or min(mask.shape) < MIN_SIDE:
        raise ScoreError(f"need a 2-D image of at least {MIN_SIDE}×{MIN_SIDE} pixels, "
                         f"got shape {mask.shape}")
    side = min(mask.shape)
    smallest = SMALLEST_BOX if side >= 16 * SMALLEST_BOX else 1
    sizes = 2 ** np.arange(int(np.log2(smallest)), int(np.log2(side // 4)) + 1)
    fit = (int(sizes[0]), int(sizes[-1]))
    if not mask.any():
        return BoxCount(0.0, 1.0, fit)
    counts = np.array([np.count_nonzero(block_reduce(mask, (s, s), np.any)) for s in sizes])
    x, y = np.log(1.0 / sizes), np.log(counts)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return BoxCount(float(slope), 1.0 - residual / total if total > 0 else 1.0, fit)


def boundary(labels: np.ndarray) -> np.ndarray:
    """The pixel corners where the colours meet, as an image of the labels' shape.

    Corner (i, j) is the one between pixels i, i+1 and j, j+1; the last row and column hold
    no corner and stay False.
    """
    m = np.asarray(labels, dtype=bool)
    edge = np.zeros_like(m)
    top_left = m[:-1, :-1]
    edge[:-1, :-1] = (top_left != m[1:, :-1]) | (top_left != m[:-1, 1:]) | (top_left != m[1:, 1:])
    return edge


def displayed(labels: np.ndarray, side: int) -> np.ndarray:
    """The landscape as a viewer sees it at `side` pixels: antialiased, then thresholded."""
    labels = np.asarray(labels, dtype=bool)
    if max(labels.shape) <= side:
        return labels
    image = Image.fromarray(np.where(labels, 255, 0).astype(np.uint8), mode="L")
    small = image.resize((side, side), Image.Resampling.LANCZOS)
    return np.asarray(small) >= 128


@dataclass(frozen=True)
class Score:
    fractal_dimension: float  # at display scale: what a viewer sees
    r2: float
    box_sizes: tuple[int, int]
    display_size: int
    raw_fractal_dimension: float  # at full resolution
    raw_r2: float
    white_fraction: float
    boundary_fraction: float  # share of display pixels on the boundary
    traits: dict

    def as_dict(self) -> dict:
        data = asdict(self)
        data["box_sizes"] = list(self.box_sizes)
        return data


def traits(dimension: float, white: float) -> dict:
    """Words for the numbers, for captions and metadata attributes."""
    if dimension < 1.05:
        structure = "plain" if dimension < 0.5 else "smooth"
    else:
        structure = "intricate" if dimension < 1.5 else "turbulent"
    tone = "dark" if white < 1 / 3 else "light" if white > 2 / 3 else "balanced"
    return {"structure": structure, "tone": tone}


def score(labels: np.ndarray, *, display: int = DISPLAY) -> Score:
    """Score a landscape (2-D, True = white). See the module docstring for the method."""
    labels = np.asarray(labels, dtype=bool)
    if display < MIN_SIDE:
        raise ScoreError(f"display size must be at least {MIN_SIDE} pixels, got {display}")
    raw = box_counting(boundary(labels))
    seen_edge = boundary(displayed(labels, display))
    seen = box_counting(seen_edge)
    white = float(labels.mean())
    return Score(seen.dimension, seen.r2, seen.box_sizes, min(display, max(labels.shape)),
                 raw.dimension, raw.r2, white, float(seen_edge.mean()),
                 traits(seen.dimension, white))


def load_labels(path) -> np.ndarray:
    """A black-and-white image file as labels: grey levels from 128 up count as white."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
            grey = np.asarray(image.convert("L"))
    except FileNotFoundError:
        raise ScoreError(f"image {path} does not exist") from None
    except OSError as e:
        raise ScoreError(f"image {path} cannot be read as an image: {e}") from None
    # Colour would be scored by its grey level, silently: refuse it instead.
    if np.mean(rgb.max(axis=-1) - rgb.min(axis=-1) > 32) > 0.01:
        raise ScoreError(f"image {path} is in colour; score takes black-and-white images")
    return grey >= 128
