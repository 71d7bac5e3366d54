"""What a landscape looks like, in numbers: boundary dimension, tone, texture, complexity.

A landscape is a boolean image (True = white = synchronised). Every number is computed offline
from the pixels with numpy alone, on two scales: the raw pixels, and the image as a viewer sees
it, downsampled to `display` pixels a side with antialiasing (`render.downsample`).

Box-counting dimension. A box of s×s pixels counts when the boundary between the colours passes
through it, i.e. when the (s+1)×(s+1) pixels from one pixel before it to its end hold both
colours: that is the box's share of the crack between pixels, half-open as boxes of a cover
must be, so a crack along a box's edge is counted once, by one box, and black and white are
interchangeable. Each size is counted on 4×4 grid offsets and the least count kept (box
counting asks for the fewest boxes that cover; one grid aligned to the corner over-counts
shapes that do not line up with it, by up to 0.07 on the test shapes), the grids laid from the
boundary's first row and column, so that a shape scores the same wherever it lies in the frame
(from the image's corner a small carpet's score moved by 0.02 with its place). Sizes run a
quarter octave apart from 2 px (1 px boxes hold one pixel) to a sixteenth of the shorter side
(at least 8 px): above that a shape smaller than the frame is covered by a handful of boxes,
which flattens log N(s). The dimension is the least-squares slope of log N(s) against log(1/s),
from the inner cutoff up (`inner_cutoff`: where a shape's finest detail is several pixels wide,
the sizes below it see straight edges and are left out; an image with three octaves of sizes or
fewer, such as a sweep's preview, keeps them all). On the 1024² shapes of `tests/shapes.py`
(edges, disk, Koch curve, Sierpinski triangles drawn to the pixel, dyadic and triadic fractals
with one-pixel detail placed off-centre) it lands within 0.025 of the known dimension, on
triadic fractals with 2-4 px cells within 0.035; the earlier estimator (boxes of 4 px up, one
corner-aligned grid) was off by up to 0.13, the fixed fit from 2 px by up to 0.26 on the coarse
ones.

Per-point landscapes (the paper's code) are speckle near the boundary: box counting on the raw
pixels measures the noise (D ≈ 2 for every seed), so the headline `fractal_dimension` is
measured on the display image thresholded at 50 %, and `raw_fractal_dimension` on the raw
pixels. (Thresholding a blurred speckle still leaves a jagged edge, which the 2 px boxes see:
a speckled disk edge scores about 1.35 at display scale, against 1.9 raw; the jag is part of
the texture the view shows, and it ranked the paper's five higher than 4 px boxes did.)
The further numbers, all on the display image's 8-bit grey levels g:

- `white_fraction`: share of white pixels (raw);
- `grey_fraction`: share of mixed pixels, neither near black nor near white (GREY < g < 255 -
  GREY): the speckled convergence-probability textures per-point landscapes show as grey;
- `grey_entropy`: Shannon entropy of the histogram of g, in bits (0 flat, 8 at most);
- `compression`: zlib size of g over its raw size, compression as complexity after Machado &
  Cardoso (1998): 0 for a blank image, towards 1 for noise;
- `lacunarity`: gliding-box lacunarity (Allain & Cloitre 1991) of g / 255 for boxes of a
  sixteenth of the side, E[M²] / E[M]² of the box masses M: 1 for an even texture, larger for
  gappy ones (1 for a uniform image, black included);
- `speckle`: mean absolute difference of g / 255 from its 3×3 mean: pixel-level grain, 0 for
  flat areas and clean edges alike;
- `solid_black`: share of pixels whose 5×5 mean is within 5 % of black: solid dark areas, not
  dark speckle;
- `boundary_fraction`: share of display pixels at a corner of both colours.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from generator.errors import ArtError
from generator.render import downsample

MIN_SIDE = 16  # below this there are fewer than three box sizes to fit a slope to
DISPLAY = 512  # side of the displayed image the headline score measures
OFFSETS = 4  # grid offsets per axis and box size; a box count is the least over them
GREY = 26  # grey levels within this of black or white count as black or white (about 10 %)
LACUNARITY_BOX = 16  # gliding boxes are 1/16 of the display side
SOLID_BOX = 5  # a pixel lies in a solid area when its SOLID_BOX² neighbourhood does
SOLID = 0.05  # ... and their mean grey level is within this of black
FIT_OCTAVES = 3  # box sizes the fit keeps above an inner cutoff, in octaves
CUTOFF_GAIN = 2  # how much better a two-segment fit must be to move the fit's start


class ScoreError(ArtError, ValueError):
    """An image that cannot be scored."""


@dataclass(frozen=True)
class BoxCount:
    dimension: float  # slope of log N(s) against log(1/s); 0.0 for an empty boundary
    r2: float  # coefficient of determination of that fit; 1.0 when trivially exact
    box_sizes: tuple[int, int]  # smallest and largest box side of the fit, in pixels


def box_sizes(side: int) -> np.ndarray:
    """Box sides a quarter octave apart, from 2 px to side/16 (at least 8, at most side/4)."""
    largest = min(side // 4, max(8, side // 16))
    steps = np.arange(4, int(np.floor(4 * np.log2(largest))) + 1)
    return np.unique(np.round(2.0 ** (steps / 4)).astype(int))


def _integral(image: np.ndarray, dtype=np.int64) -> np.ndarray:
    """Summed-area table with a zero first row and column: (H+1, W+1) of `dtype`."""
    table = np.zeros((image.shape[0] + 1, image.shape[1] + 1), dtype=dtype)
    table[1:, 1:] = image.cumsum(0, dtype=dtype).cumsum(1)
    return table


def _window_sums(values: np.ndarray, box: int) -> np.ndarray:
    """Sum of every box×box window lying wholly inside `values` (float)."""
    table = _integral(values, np.float64)
    return table[box:, box:] - table[:-box, box:] - table[box:, :-box] + table[:-box, :-box]


def box_counts(labels: np.ndarray, sizes) -> np.ndarray:
    """N(s) for each size: the fewest s×s boxes, over OFFSETS² grid offsets from the
    boundary's first row and column, that the boundary between the colours passes through
    (see the module docstring)."""
    labels = np.asarray(labels, dtype=bool)
    height, width = labels.shape
    table = _integral(labels)
    # The grids start where the boundary does, so a shape counts the same wherever it lies.
    rows, columns = np.nonzero(boundary(labels))
    top, left = (rows.min() + 1, columns.min() + 1) if rows.size else (0, 0)
    counts = []
    for s in sizes:
        def offsets(first: int) -> list[int]:
            return sorted({-(first + k * s // OFFSETS) % s for k in range(OFFSETS)})

        # every offset's grid at once (one indexing of the table per size, not one per
        # offset pair, which made scoring cost more than a small preview's render): box
        # ends (exclusive) and one pixel before each box, grids laid end to end per axis
        y1, y0, ys = _grids(offsets(top), height, s)
        x1, x0, xs = _grids(offsets(left), width, s)
        white = (table[np.ix_(y1, x1)] - table[np.ix_(y0, x1)]
                 - table[np.ix_(y1, x0)] + table[np.ix_(y0, x0)])  # (boxes_y, boxes_x)
        area = (y1 - y0)[:, None] * (x1 - x0)[None, :]
        crossed = ((white > 0) & (white < area)).astype(np.int64)
        per_grid = np.add.reduceat(np.add.reduceat(crossed, ys, axis=0), xs, axis=1)
        counts.append(int(per_grid.min()))
    return np.array(counts)


def _grids(offsets, length: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box ends, box starts less one, and where each offset's grid begins, along one axis."""
    starts = [np.arange(-o, length, s) for o in offsets]
    first = np.cumsum([0] + [len(a) for a in starts[:-1]])
    starts = np.concatenate(starts)
    return np.clip(starts + s, 0, length), np.clip(starts - 1, 0, length), first


def inner_cutoff(x: np.ndarray, y: np.ndarray) -> int:
    """Index of the first box size of the fit, past the scales where the boundary is smooth.

    Below the finest detail of a shape (a carpet drawn with 3 px cells) its boundary is a set
    of straight edges, and log N(s) has slope 1 there. Each candidate cutoff is tried as a
    two-segment fit, slope 1 below it and free above, continuous; the best is taken when it
    leaves at most 1/CUTOFF_GAIN of the straight fit's squared residual, and at least
    FIT_OCTAVES of sizes above it. The oscillation of log N(s) a fractal's gaps cause (Cantor
    dust) never halves the residual; a smooth inner range does.
    """
    candidates = range(max(1, len(x) - 4 * FIT_OCTAVES))
    residuals = []
    for i in candidates:
        below = np.arange(len(x)) < i
        design = np.stack([np.where(below, x[i], x), np.ones_like(x)], axis=1)
        target = y - np.where(below, x - x[i], 0.0)
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
        residuals.append(float(np.sum((design @ solution - target) ** 2)))
    best = int(np.argmin(residuals))
    return best if residuals[best] * CUTOFF_GAIN < residuals[0] else 0


def box_counting(labels: np.ndarray) -> BoxCount:
    """Box-counting dimension of the boundary between the colours of a 2-D boolean image."""
    labels = np.asarray(labels, dtype=bool)
    if labels.ndim != 2 or min(labels.shape) < MIN_SIDE:
        raise ScoreError(f"need a 2-D image of at least {MIN_SIDE}×{MIN_SIDE} pixels, "
                         f"got shape {labels.shape}")
    sizes = box_sizes(min(labels.shape))
    if labels.all() or not labels.any():
        return BoxCount(0.0, 1.0, (int(sizes[0]), int(sizes[-1])))
    counts = box_counts(labels, sizes)  # every size sees the boundary: no zero count
    x, y = np.log(1.0 / sizes), np.log(counts)
    first = inner_cutoff(x, y)
    x, y = x[first:], y[first:]
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return BoxCount(float(slope), 1.0 - residual / total if total > 0 else 1.0,
                    (int(sizes[first]), int(sizes[-1])))


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
    """The landscape's grey levels as a viewer sees it at `side` pixels: (side, side) uint8,
    antialiased; the labels themselves (0 or 255) when they are no larger."""
    labels = np.asarray(labels, dtype=bool)
    image = np.where(labels, 255, 0).astype(np.uint8)
    if max(labels.shape) <= side:
        return image
    return np.asarray(downsample(Image.fromarray(image, mode="L"), side))


def grey_entropy(grey: np.ndarray) -> float:
    """Shannon entropy of the grey-level histogram of an 8-bit image, in bits."""
    p = np.bincount(grey.ravel(), minlength=256) / grey.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no -0.0 for a flat image


def compression(grey: np.ndarray) -> float:
    """zlib (level 9) size of an 8-bit image's bytes over their number."""
    data = np.ascontiguousarray(grey, dtype=np.uint8).tobytes()
    return len(zlib.compress(data, 9)) / len(data)


def lacunarity(grey: np.ndarray, box: int) -> float:
    """Gliding-box lacunarity E[M²] / E[M]² of the masses M of every box×box window of
    grey / 255; 1.0 when the image is uniform (black included)."""
    m = _window_sums(grey.astype(np.float64) / 255, box)
    mean = m.mean()
    if mean <= 0 or np.ptp(m) <= 1e-9 * mean:
        return 1.0
    return float((m**2).mean() / mean**2)


def box_mean(values: np.ndarray, box: int) -> np.ndarray:
    """Mean of the box×box window (box odd) centred on each pixel, the edges mirrored."""
    padded = np.pad(np.asarray(values, dtype=np.float64), box // 2, mode="symmetric")
    return _window_sums(padded, box) / box**2


def speckle(grey: np.ndarray) -> float:
    """Mean absolute difference of grey / 255 from its 3×3 mean."""
    mass = grey.astype(np.float64) / 255
    return float(np.abs(mass - box_mean(mass, 3)).mean())


def solid_black(grey: np.ndarray) -> float:
    """Share of pixels whose SOLID_BOX² mean of grey / 255 is below SOLID."""
    return float((box_mean(grey.astype(np.float64) / 255, SOLID_BOX) < SOLID).mean())


@dataclass(frozen=True)
class Score:
    fractal_dimension: float  # at display scale: what a viewer sees
    r2: float
    box_sizes: tuple[int, int]
    display_size: int
    raw_fractal_dimension: float  # at full resolution
    raw_r2: float
    raw_box_sizes: tuple[int, int]
    white_fraction: float
    boundary_fraction: float  # share of display pixels on the boundary
    grey_fraction: float  # share of mixed display pixels, neither near black nor near white
    grey_entropy: float  # bits, of the display image's grey levels
    compression: float  # zlib size over raw size of the display image
    lacunarity: float  # gliding box, boxes 1/16 of the display side
    speckle: float  # pixel-level grain of the display image
    solid_black: float  # share of the display image in solid black areas
    traits: dict

    def as_dict(self) -> dict:
        data = asdict(self)
        data["box_sizes"] = list(self.box_sizes)
        data["raw_box_sizes"] = list(self.raw_box_sizes)
        return data


# The numbers `select --like` compares artworks by (all of Score's measurements but the fit
# quality and the sizes).
FEATURES = ("fractal_dimension", "raw_fractal_dimension", "white_fraction", "boundary_fraction",
            "grey_fraction", "grey_entropy", "compression", "lacunarity", "speckle",
            "solid_black")


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
    raw = box_counting(labels)
    grey = displayed(labels, display)  # (side, side) uint8
    seen_labels = grey >= 128
    seen = box_counting(seen_labels)
    white = float(labels.mean())
    side = min(grey.shape)
    return Score(
        seen.dimension, seen.r2, seen.box_sizes, side, raw.dimension, raw.r2, raw.box_sizes,
        white, float(boundary(seen_labels).mean()),
        float(np.mean((grey > GREY) & (grey < 255 - GREY))), grey_entropy(grey),
        compression(grey), lacunarity(grey, max(1, side // LACUNARITY_BOX)), speckle(grey),
        solid_black(grey), traits(seen.dimension, white))


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
