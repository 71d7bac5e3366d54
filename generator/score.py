"""What a landscape looks like, in numbers: boundary dimension, tone, texture, complexity.

A landscape is a boolean image (True = white = synchronised). Every number is computed offline
from the pixels with numpy and scikit-image, on two scales: the raw pixels, and the image as a
viewer sees it, downsampled to `display` pixels a side with antialiasing. scikit-image has no
box-counting function, so `box_counts` is ours; boundaries, block means, smoothing, entropy
and summed-area tables are scikit-image's.

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

A drawing made of k-pixel cells (`enlargement`: one colour on every k×k block of a grid, k up
to MAX_CELL; none of 1,200 renders at 256² and 1024² was one) has no detail below k px,
but its count below 2k px is inflated by how the cells' own edges fall in the boxes, by how
much depending on the shape (a carpet's smallest holes are counted by their four sides at 2-3
px, a dust's squares are not): in a small frame, which leaves too few sizes for the inner
cutoff, a 486 px carpet of 2 px cells scored 0.16 low and a 324 px one of 4 px cells 0.49 low.
So the fit starts, among the sizes from the inner cutoff up to 2k, where its straight fit
leaves the least residual variance (`steadiest_start`, keeping at least MIN_FIT sizes): carpets,
dusts and Vicsek sets of 2-4 px cells at 256-972 px then score within 0.067, 0.058 and 0.079
(before: 0.49, 0.082, 0.072).

A curve drawn as a pen's line, not as a region's edge, has two edges a line's width apart,
which the smallest boxes count apart: a circle's outline scores 1.08 drawn 1 px wide and 1.20
3 px wide. Its centre (the skeleton) counted as points would fit lines, but puts dusts, Vicsek
sets and gaskets of 1 px cells 0.03-0.1 low, and no measure found tells a 1 px line from a
wall of 1 px cells (docs/scores.md): a curve is measured as the edge of a filled region.

A boundary that the largest boxes cover with fewer than MIN_BOXES (an empty one, or a few
specks or small islands, each inside a box of a sixteenth of the side) has no range of scales
to fit: the slope of counts of 2-30 boxes follows where those boxes fall (between a near-blank
seed's 256² and 1024² renders it moved by up to 0.088). It scores 0, as no boundary does, so
that a probability field which barely crosses 1/2 in one spot, a chance of its estimate,
scores the same as one that does not cross it.

The headline `fractal_dimension` is defined on what the picture is, in one of two regimes,
decided from the image and reported as `regime`, with the measured `grain`:

- *crisp* (shapes, drawings, `init = "shared"` landscapes): the box-counting dimension of the
  boundary between the colours at the image's own resolution, as above.
- *speckled* (per-point landscapes: each pixel a random draw of a smooth convergence
  probability): box counting on the raw pixels measures the noise (D near 2 for any textured
  seed, and a different D at every size), so the dimension is that of the boundary of the
  *estimated probability field*: the image block-averaged to at most FIELD_GRID pixels a side
  (`skimage.measure.block_reduce`), smoothed by a Gaussian of σ = side / FIELD_SIGMA
  (`skimage.filters.gaussian`), interpolated bilinearly to FIELD_TRACE points a side
  (`skimage.transform.resize`) and thresholded at 1/2. The scale is a fixed share of the
  picture, because the landscape is a function on the plane whatever the pixel count: σ holds
  8² grains at 256² (a grain is one pixel, every pixel an independent draw), enough that the
  estimate's noise stays below the field's own relief. At σ = side/64 the same per-point seeds
  at 256² and 1024² differed by up to 0.13; at side/32 by up to 0.07. The level set is counted
  on the finer grid because a small island of the field covers a few boxes of the coarse one,
  and one box more or less moved D by up to 0.1 between a 256² and a 1024² render; counted at
  256 points a side, the spread of D between the 16 samplings of a 1024² render on a 256² grid
  fell from a median 0.007 to 0.0035 (100 seeds; at 512, 0.0024, for four times the count).

The `grain` is how random the image's 3×3 pixel blocks are: the entropy of the patterns of the
blocks holding both colours, given their count of white pixels, over the same for as many
blocks of independent pixels with those counts. Every 3×3 block counts, overlapping (nine times
the blocks of one tiling: between the 16 samplings of a 1024² shared render on a 256² grid the
estimate's spread falls by half, median 0.015 to 0.007). Independent draws score 1; drawn and
computed pictures, whose pixels follow their neighbours, score less: edges, disks, Koch curves,
gaskets, carpets and dusts (`tests/shapes.py`, 256-2187 px) 0.0-0.82, `init = "shared"`
landscapes 0.17-0.949 (95 % below 0.89), per-point landscapes 0.91-1.0, 95 % from 0.989 (300
random seeds each, `benchmarks/score_sizes.py`, at 256² and 1024² alike), so an image is
speckled from SPECKLED_GRAIN up: where the fewest of those grains fall (3 of 1,042 within
0.01; at 0.9, 14, and one shared seed was crisp at one size and speckled at the other, 0.38
apart), above every shared one, below every per-point one but the near-blank. An image with
fewer than MIN_BLOCKS blocks of both colours (a few specks on a plain ground) has no
measurable grain (0.0) and is *plain*, scored as speckled ones are: its specks are texture,
not a curve, and box-counting a dozen of them gave 0.1-1.5 by where they fell (the same
seed's 256² and 1024² renders differed by up to 1.4).
`raw_fractal_dimension` is always the crisp estimate at the image's own resolution.

A *landscape* (`landscape=True`: an attnart render, which `attnart score` knows from the
sidecar `render` writes beside it or the PNG's Software text, `is_render`) is a point sample of
a picture with detail below any pixel: its chaotic bands hold streaks finer than a 256²
render's pixels, which that render aliases into speckle and a 1024² render resolves. Box
counting at the image's own resolution then sees finer boundary the larger the render (the same
shared-mode seeds at 256² and 1024²: median gap 0.025, 30 % of 60 seeds over 0.04, the larger
render mostly the higher). So a landscape's regime and crisp dimension are measured on the
LANDSCAPE_GRID² grid of its window (each grid point from the nearest pixel: the pixels a 256²
render of the same spec samples, give or take a fraction of one), the sampling density of a
sweep's preview, whatever the render's size. Its grain is the mean over the offset grids a
larger render holds (up to GRAIN_OFFSETS² of them, `offset_grids`), so that the regime does not
hang on one sampling of a chaotic band. Over 300 seeds at 256² and 1024² the gap is within
0.02 for 91 % in shared mode, within 0.04 for 297, at most 0.067, every seed in the same
regime at both sizes (with the grain of one tiling of one grid, one seed of 60 had grain 0.85
at 256² and 0.90 at 1024² and scored 1.264 crisp against 0.998 speckled); per-point 94 %,
297, at most 0.064. Every seed beyond 0.04 is near-blank (under 6 % or over 89 % white): a
few islands and streaks whose short boundary a few differently sampled specks change, or a
field near 1/2 over a small area. The speckled regime's
probability field is estimated from all the pixels. A drawing is measured at its own
resolution: sampling a 1-px line drawing at 256 points a side would break its lines.
`sampling` reports the side of the grid the headline was measured on.

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

import io
import json
import math
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from skimage.filters import gaussian
from skimage.measure import block_reduce, shannon_entropy
from skimage.transform import integral_image, resize

from generator import shade
from generator.errors import ArtError
from generator.files import read_input
from generator.spec import SIDECAR_KEYS, SOFTWARE

MIN_SIDE = 16  # below this there are fewer than three box sizes to fit a slope to
MIN_BOXES = 4  # a boundary the largest boxes cover with fewer has no range of scales to fit
MAX_CELL = 8  # a drawing's cells (`enlargement`) are looked for up to this many pixels
MIN_FIT = 4  # box sizes a fit keeps at least
DISPLAY = 512  # side of the displayed image the headline score measures
OFFSETS = 4  # grid offsets per axis and box size; a box count is the least over them
GREY = 26  # grey levels within this of black or white count as black or white (about 10 %)
LACUNARITY_BOX = 16  # gliding boxes are 1/16 of the display side
MAX_PIXELS = 8192 * 8192  # of an image file scored: about 1 GB of working arrays
MAX_IMAGE_BYTES = 512 * 1024 * 1024  # of its file, read whole before decoding
SOLID_BOX = 5  # a pixel lies in a solid area when its SOLID_BOX² neighbourhood does
SOLID = 0.05  # ... and their mean grey level is within this of black
FIT_OCTAVES = 3  # box sizes the fit keeps above an inner cutoff, in octaves
CUTOFF_GAIN = 2  # how much better a two-segment fit must be to move the fit's start
SPECKLED_GRAIN = 0.95  # grain from which an image is speckled (see the module docstring)
MIN_BLOCKS = 450  # 3×3 blocks of both colours needed to measure the grain (as many as
# 50 disjoint ones)
GRAIN_OFFSETS = 4  # a landscape's grain is the mean over up to 4² offset grids
FIELD_GRID = 128  # a speckled image's probability field is estimated on at most this grid
FIELD_SIGMA = 32  # ... smoothed by a Gaussian of sigma = side / FIELD_SIGMA
FIELD_TRACE = 256  # ... and its level set counted on this grid, interpolated
LANDSCAPE_GRID = 256  # a landscape's crisp boundary is counted on this grid of its window
# The headline's method, bumped when it changes: stored scores of another are re-scored
# (1: issue 24's; 2: the grain of every 3×3 block, and of all offset grids of a landscape,
# and the field's edge traced at FIELD_TRACE; 3: a boundary under MIN_BOXES scores 0,
# SPECKLED_GRAIN 0.95, not 0.9, and a drawing of cells is fitted from its steadiest start)
ESTIMATOR = 3


class ScoreError(ArtError, ValueError):
    """An image that cannot be scored."""


@dataclass(frozen=True)
class BoxCount:
    # slope of log N(s) against log(1/s); 0.0 for a boundary too small to measure (MIN_BOXES)
    dimension: float
    r2: float  # coefficient of determination of that fit; 1.0 when trivially exact
    box_sizes: tuple[int, int]  # smallest and largest box side of the fit, in pixels


def box_sizes(side: int) -> np.ndarray:
    """Box sides a quarter octave apart, from 2 px to side/16 (at least 8, at most side/4)."""
    largest = min(side // 4, max(8, side // 16))
    steps = np.arange(4, int(np.floor(4 * np.log2(largest))) + 1)
    return np.unique(np.round(2.0 ** (steps / 4)).astype(int))


def _integral(image: np.ndarray, dtype=None) -> np.ndarray:
    """Summed-area table with a zero first row and column: (H+1, W+1) of `dtype`; by
    default of counts, int32 where it holds the image's (at half the memory traffic of int64),
    else int64."""
    if dtype is None:
        dtype = np.int32 if image.size < 2**31 else np.int64
    return integral_image(np.pad(image, ((1, 0), (1, 0))), dtype=dtype)


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
    # The grids start where the boundary does, so a shape counts the same wherever it lies.
    top, left = _first_corner(labels, 1) + 1, _first_corner(labels, 0) + 1
    if top == 0:  # no corner of both colours: no box is crossed
        return np.zeros(len(sizes), dtype=int)
    # The image extended by its edge pixels: a box reaching past the edge holds copies of
    # its own pixels there, so it is crossed exactly when its part inside is, and every box
    # holds (s+1)² pixels.
    margin = int(max(sizes))
    table = _integral(np.pad(labels, margin, mode="edge"))
    counts = []
    for s in sizes:
        def offsets(first: int) -> list[int]:
            return sorted({-(first + k * s // OFFSETS) % s for k in range(OFFSETS)})

        # every offset's grid at once (one indexing of the table per size, not one per
        # offset pair, which made scoring cost more than a small preview's render): box
        # ends (exclusive), the s + 1 pixels before each one the box and the pixel before
        # it, grids laid end to end per axis
        y1, ys = _grids(offsets(top), height, s, margin)
        x1, xs = _grids(offsets(left), width, s, margin)
        rows = table[y1] - table[y1 - s - 1]  # each box row's column sums, cumulated
        white = rows[:, x1] - rows[:, x1 - s - 1]  # (boxes_y, boxes_x)
        crossed = (white > 0) & (white < (s + 1) ** 2)
        per_grid = np.add.reduceat(np.add.reduceat(crossed, ys, axis=0, dtype=table.dtype),
                                   xs, axis=1)
        counts.append(int(per_grid.min()))
    return np.array(counts)


def _grids(offsets, length: int, s: int, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Box ends (exclusive) in a table of the axis with `margin` before it, and where each
    offset's grid begins, along one axis."""
    starts = [np.arange(margin + s - o, margin + length + s, s) for o in offsets]
    first = np.cumsum([0] + [len(a) for a in starts[:-1]])
    return np.concatenate(starts), first


def _first_corner(labels: np.ndarray, axis: int) -> int:
    """Index of the first row (axis 1) or column (axis 0) of `boundary` holding a corner; -1
    when none does. Two neighbouring pixel rows hold a 2×2 block of both colours exactly when
    they are not all of one colour (neighbouring pixels of two colours would lie in one block),
    which each row's any and all tell."""
    whole, some = labels.all(axis), labels.any(axis)
    plain = whole | ~some
    mixed = ~(plain[:-1] & plain[1:] & (whole[:-1] == whole[1:]))
    hits = np.flatnonzero(mixed)
    return int(hits[0]) if hits.size else -1


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


def enlargement(labels: np.ndarray) -> int:
    """The largest k up to MAX_CELL for which the image is one colour on every k×k block of a
    grid laid from some offset (drawn with k-pixel cells, or enlarged k times); 1 for none.
    The rows where the image changes from the row before, and such columns, lie multiples of
    k apart."""
    step = 0
    for axis in (1, 0):
        changes = np.flatnonzero(np.diff(labels, axis=1 - axis).any(axis=axis))
        step = math.gcd(step, *np.diff(changes).tolist())
    return max(k for k in range(1, MAX_CELL + 1) if step % k == 0) if step else 1


def steadiest_start(x: np.ndarray, y: np.ndarray, first: int, last: int) -> int:
    """Of the fit's starts from `first` to `last`, the one whose straight fit leaves the least
    residual variance."""
    def variance(start: int) -> float:
        residual = np.polyfit(x[start:], y[start:], 1, full=True)[1]
        return float(residual[0]) / (len(x) - start - 2) if residual.size else 0.0

    return min(range(first, max(first, last) + 1), key=variance)


def box_counting(labels: np.ndarray) -> BoxCount:
    """Box-counting dimension of the boundary between the colours of a 2-D boolean image."""
    labels = np.asarray(labels, dtype=bool)
    if labels.ndim != 2 or min(labels.shape) < MIN_SIDE:
        raise ScoreError(f"need a 2-D image of at least {MIN_SIDE}×{MIN_SIDE} pixels, "
                         f"got shape {labels.shape}")
    sizes = box_sizes(min(labels.shape))
    counts = box_counts(labels, sizes)
    if counts[-1] < MIN_BOXES:  # an empty boundary, or a few specks (see the docstring)
        return BoxCount(0.0, 1.0, (int(sizes[0]), int(sizes[-1])))
    x, y = np.log(1.0 / sizes), np.log(counts)
    first = inner_cutoff(x, y)
    cell = enlargement(labels)
    if cell > 1:
        first = steadiest_start(x, y, first, min(int(np.searchsorted(sizes, 2 * cell)),
                                                 len(sizes) - MIN_FIT))
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
    # the published look (`render.downsample`): a square Lanczos resize
    return np.asarray(Image.fromarray(image, mode="L").resize((side, side),
                                                              Image.Resampling.LANCZOS))


def grey_entropy(grey: np.ndarray) -> float:
    """Shannon entropy of the grey-level histogram of an 8-bit image, in bits."""
    return float(shannon_entropy(grey, base=2)) + 0.0  # + 0.0: no -0.0 for a flat image


def grain(labels: np.ndarray) -> float | None:
    """How random the image's 3×3 blocks of both colours are: the entropy of their patterns
    given their white count, over the same for as many blocks of independent pixels with those
    counts (1); None with fewer than MIN_BLOCKS such blocks. Every 3×3 block counts, not
    only those of one tiling: nine times the blocks, so the estimate varies less from one
    sampling of the same picture to the next."""
    codes = block_codes(np.asarray(labels, dtype=bool))
    codes = codes[(codes > 0) & (codes < 511)]
    if codes.size < MIN_BLOCKS:
        return None
    white = _WHITE[codes]
    # The reference is drawn, not computed from log2 C(9, k): an entropy estimated from a
    # few thousand blocks falls short of the truth, and the reference must fall as short.
    # The blocks with k white pixels drawn independently fall on the C(9, k) patterns as a
    # multinomial does. A fixed generator: the same image always gets the same grain.
    counts = np.bincount(white, minlength=10)
    draw = np.random.default_rng(0)
    independent = np.concatenate([draw.multinomial(n, np.full(c, 1 / c))
                                  for n, c in zip(counts, _CHOICES) if n])
    return float(min(1.0, _pattern_entropy(np.bincount(codes), counts)
                     / _pattern_entropy(independent, counts)))


def block_codes(labels: np.ndarray) -> np.ndarray:
    """The 9-bit pattern of every 3×3 block of a boolean image, pixel (r, c) of a block
    its bit 3r + c. 1-D uint16."""
    pixels = labels.astype(np.uint16)
    rows = pixels[:, :-2] | pixels[:, 1:-1] << 1 | pixels[:, 2:] << 2  # bits 0-2 of each row
    return (rows[:-2] | rows[1:-1] << 3 | rows[2:] << 6).ravel()


def landscape_grain(labels: np.ndarray) -> float | None:
    """A landscape's grain as sampled on the LANDSCAPE_GRID² grid of its window: the mean
    over up to GRAIN_OFFSETS² offset grids (a render at least twice the grid's side holds
    several), so that the regime of a large render does not hang on one sampling; None
    when most grids have no measurable grain."""
    grains = [grain(grid) for grid in offset_grids(labels, LANDSCAPE_GRID)]
    known = [value for value in grains if value is not None]
    return float(np.mean(known)) if 2 * len(known) > len(grains) else None


def offset_grids(labels: np.ndarray, side: int) -> list[np.ndarray]:
    """Grids of `side` points along the image's shorter axis (as many a pixel along the
    other), one pixel stride apart, laid at up to GRAIN_OFFSETS offsets per axis within the
    stride; the one `regrid` when the image is less than twice the grid's side."""
    stride = min(labels.shape) // side
    if stride < 2:
        return [regrid(labels, side)]
    shifts = np.unique(np.rint(np.linspace(0, stride - 1, min(stride, GRAIN_OFFSETS))))
    starts = [np.rint(np.linspace(0, n - stride, round(side * n / min(labels.shape))))
              .astype(int) for n in labels.shape]
    return [labels[np.ix_(starts[0] + int(row), starts[1] + int(column))]
            for row in shifts for column in shifts]


_WHITE = np.array([bin(code).count("1") for code in range(512)], np.uint8)  # of each pattern
_CHOICES = [math.comb(9, k) for k in range(10)]  # patterns with k white pixels


def _pattern_entropy(patterns: np.ndarray, whites: np.ndarray) -> float:
    """H(pattern | white count) of 3×3 blocks, in bits, from the counts of their patterns and
    of their white counts: H(pattern) - H(count), as the count is a function of the
    pattern."""
    return _entropy(patterns) - _entropy(whites)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def probability_field(labels: np.ndarray) -> np.ndarray:
    """A speckled image's estimated convergence probability: block means on at most
    FIELD_GRID pixels a side, smoothed by sigma = side / FIELD_SIGMA. (≤GRID, ≤GRID) float."""
    labels = np.asarray(labels, dtype=bool)
    factor = max(1, min(labels.shape) // FIELD_GRID)
    field = block_reduce(labels.astype(np.float32), factor, np.mean)
    return gaussian(field, min(field.shape) / FIELD_SIGMA, mode="reflect",
                    preserve_range=True)


def field_boundary(labels: np.ndarray) -> np.ndarray:
    """Where a speckled image's probability field is at least 1/2, on a FIELD_TRACE grid
    along its shorter side, the field interpolated bilinearly. (≈TRACE, ≈TRACE) bool."""
    field = probability_field(labels)
    scale = FIELD_TRACE / min(field.shape)
    shape = tuple(max(1, round(n * scale)) for n in field.shape)
    return resize(field, shape, order=1, mode="edge", anti_aliasing=False) >= 0.5


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
    fractal_dimension: float  # the headline: crisp or speckled, see the module docstring
    r2: float
    box_sizes: tuple[int, int]  # of the headline fit, in points of the grid it was counted on
    # "crisp" (the boundary of the pixels), "speckled" (of the probability field) or "plain"
    # (too few pixels of both colours to tell: as speckled)
    regime: str
    grain: float  # randomness of the 3×3 blocks, 0 (drawn) to 1 (independent pixels)
    resolution: int  # shorter side of the image scored, in pixels
    sampling: int  # shorter side of the grid the headline was measured on (see the docstring)
    estimator: int  # ESTIMATOR when scored
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
# quality, the sizes and the regime).
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


def regrid(labels: np.ndarray, side: int) -> np.ndarray:
    """The image on a grid of `side` points along its shorter axis (as many a pixel along
    the other) spanning it end to end, each from the nearest pixel; the image itself when it
    is no larger."""
    shorter = min(labels.shape)
    if shorter <= side:
        return labels
    index = [np.rint(np.linspace(0, n - 1, max(side, round(side * n / shorter)))).astype(int)
             for n in labels.shape]
    return labels[np.ix_(*index)]


def score(labels: np.ndarray, *, display: int = DISPLAY, landscape: bool = False) -> Score:
    """Score an image (2-D, True = white); `landscape` when it is a render of the map
    rather than a drawing. See the module docstring for the method."""
    labels = np.asarray(labels, dtype=bool)
    if display < MIN_SIDE:
        raise ScoreError(f"display size must be at least {MIN_SIDE} pixels, got {display}")
    raw = box_counting(labels)
    texture = landscape_grain(labels) if landscape else grain(labels)
    regime = ("plain" if texture is None else "crisp" if texture < SPECKLED_GRAIN
              else "speckled")
    if regime == "crisp":
        sampled = regrid(labels, LANDSCAPE_GRID) if landscape else labels
        headline = raw if sampled is labels else box_counting(sampled)
    else:
        sampled = labels  # the probability field is estimated from every pixel
        headline = box_counting(field_boundary(labels))
    grey = displayed(labels, display)  # (side, side) uint8
    white = float(labels.mean())
    side = min(grey.shape)
    return Score(
        headline.dimension, headline.r2, headline.box_sizes, regime, texture or 0.0,
        min(labels.shape), min(sampled.shape), ESTIMATOR, side, raw.dimension, raw.r2,
        raw.box_sizes,
        white, float(boundary(grey >= 128).mean()),
        float(np.mean((grey > GREY) & (grey < 255 - GREY))), grey_entropy(grey),
        compression(grey), lacunarity(grey, max(1, side // LACUNARITY_BOX)), speckle(grey),
        solid_black(grey), traits(headline.dimension, white))


def measured(scores: dict) -> str:
    """Where a score's fractal dimension was measured, for people: "crisp, 256² samples of
    1024² px"; "" for scores from before issue 24's estimator."""
    if "regime" not in scores:
        return ""
    side, grid = scores["resolution"], scores.get("sampling", scores["resolution"])
    where = f"{side}² px" if grid == side else f"{grid}² samples of {side}² px"
    return f"{scores['regime']}, {where}"


def load_labels(path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A black-and-white image file as labels: grey levels from 128 up count as white.

    The pixel count is read from the header and checked against `max_pixels` before
    anything is decoded: a PNG of a few kilobytes can claim 30000² pixels (a decompression
    bomb)."""
    data = read_input(path, "image", limit=MAX_IMAGE_BYTES)
    side = math.isqrt(max_pixels)
    too_large = f"over score's limit of {side}×{side} pixels; downsample it first"
    try:
        with warnings.catch_warnings():  # Pillow's own bomb check, past its warning, refuses
            if max_pixels <= Image.MAX_IMAGE_PIXELS:
                warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise ScoreError(f"image {path} is {width}×{height} pixels, {too_large}")
            image.load()
            if image.mode in ("1", "L"):  # no colour to refuse
                return np.asarray(image.convert("L")) >= 128
            if image.mode.startswith("I;16"):  # 16-bit grey: half of its own range
                return np.asarray(image) >= 32768
            if image.mode in ("I", "F"):
                return _deep_grey(np.asarray(image), path)
            rgb = np.asarray(image.convert("RGB"))
            grey = np.asarray(image.convert("L"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScoreError(f"image {path} claims more pixels than Pillow decodes safely, "
                         f"{too_large}") from None
    except UnidentifiedImageError:
        raise ScoreError(f"{path} is not an image file Pillow reads (PNG, JPEG, TIFF, ...); "
                         "is it the right file?") from None
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, ScoreError):
            raise
        raise ScoreError(f"image {path} cannot be read as an image: {e}") from None
    if np.mean(rgb.max(axis=-1) - rgb.min(axis=-1) > 32) <= 0.01:
        return grey >= 128
    # Colour would be scored by its grey level, silently: a speed-shaded render's colours
    # say its labels (its sidecar names the palette), any other colour image is refused.
    palette = _render_palette(path)
    if palette is None:
        raise ScoreError(f"image {path} is in colour; score takes black-and-white images, or a "
                         "speed-shaded render of attnart with its .json sidecar beside it")
    try:
        return shade.labels_of(rgb, palette)
    except ArtError as e:
        raise ScoreError(f"image {path}: {e}") from None


def _deep_grey(values: np.ndarray, path) -> np.ndarray:
    """Labels of a 32-bit integer or float image, whose file does not say what white is:
    grey levels of 0-1 (floats) or 0-255 or 0-65535 (whole numbers), thresholded at half."""
    low, high = float(values.min()), float(values.max())
    whole = values.dtype.kind in "iu"
    for top in ((255, 65535) if whole else (1.0,)):
        if low >= 0 and high <= top:
            return values >= (top + 1) / 2 if whole else values >= 0.5
    scale = "0-255 or 0-65535" if whole else "0-1"
    raise ScoreError(f"image {path} holds grey levels {low:g}-{high:g}, outside {scale}, so "
                     "white is not defined; save it as an 8- or 16-bit black-and-white image")


def is_render(path) -> bool:
    """Whether the image at `path` (already read by `load_labels`) is a render of the map:
    its sidecar says so (`render_meta`), or its PNG's "Software" text (`render.RENDER_MARK`,
    which a gallery's copy keeps)."""
    if render_meta(path) is not None:
        return True
    try:
        with Image.open(path) as image:  # the header and the chunks before the pixels
            return image.info.get("Software") == SOFTWARE
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def render_meta(path) -> dict | None:
    """The metadata `attnart render` wrote beside the image at `path` (OUT.json), or None
    when there is none, or it is not a render's."""
    try:
        meta = json.loads(read_input(Path(path).with_suffix(".json"), "sidecar"))
    except (ArtError, ValueError):
        return None
    return meta if isinstance(meta, dict) and SIDECAR_KEYS <= meta.keys() else None


def _render_palette(path):
    """The palette of a speed-shaded attnart render at `path` (`render_meta`), or None."""
    meta = render_meta(path)
    if meta is None or meta.get("shade") != "speed":
        return None
    return meta.get("palette") or None
