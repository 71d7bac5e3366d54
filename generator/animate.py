"""Keyframed zooms and morphs -> frames -> an H.264 MP4.

A zoom narrows the spec's window exponentially (a constant zoom factor per frame) to a
window of a given width centred on a target point; the centre moves in step with the width,
so the target drifts to the middle as it grows. A morph interpolates W_Q and W_V linearly
from the seed's to a second seed's. X(0) stays the first seed's throughout, in both init
modes: it is drawn once for the frame's grid, so per-point noise stays put on the screen and
only the map changes, never the dice (but a keyframe, below, has a grid of its own).

A zoom is made from keyframes, as deep-zoom tools make theirs (Kalles Fraktaler, zoomasm):
frames are grouped so that the widest of a group is at most STEP times its narrowest, and
one keyframe per group is rendered over all of the group's windows (plus a margin for the
resampling filter) at the pixel spacing of its narrowest frame, so no frame is ever
upsampled. A keyframe's middle, where the next keyframe lies, is not rendered but resampled
from that one (its hole, filled finest first). The rest is filled in as deep-zoom renderers
guess (Fractint's solid guessing, Kalles Fraktaler's): every GUESS_STRIDE-th point of each
axis is measured, then each point between known ones is guessed as their mean when they
agree on the palette and measured when they do not, so a keyframe costs its boundaries and
little of its smooth areas (a 3 s 256² zoom's kernel time went from 3.1 to 0.8 s, its worst
frame's difference from the exact video from 0.013 to 0.011 of grey, as the colours are now
fitted on exact frames). Each frame is then resampled from its group's keyframe with a triangle
filter as wide as a frame pixel's spacing (antialiased).

The resampling is done on the field before colouring: on each pixel's palette position
(the equalised speed field, or the labels as 0 and 1), not in linear light. The palettes
are perceptually uniform, so averaging positions averages perceived lightness, which is
what an exact frame's grey levels average to over an area; linear light would brighten
every mixed pixel (half white and half black is 0.73 in sRGB, where the exact frame's
pixels average 0.5). And every colour stays one of the palette's. `every_frame` renders
every frame exactly instead, as morphs always are (W_Q and W_V change every frame, so
nothing can be reused).

Per-point keyframes are the exception: each point is an independent draw, so its neighbours
say nothing about it and nothing is guessed (guessing filled a deep zoom's frames with one
colour, 0.32 from the exact video by `block_difference`), and a frame pixel stands for a
speckle of draws, so keyframes are coloured first and resampled in colour (sRGB values, as a
downscaled exact frame averages them): on positions, a diverging palette's light middle took
the place of the speckle's two colours (0.15 from the exact video; 0.02 in colour).

Colour (shade speed) is normalised once, on three frames (first, middle, last): every
frame is coloured by that one `shade.Equaliser`, so colours do not flicker as they would if
each frame were equalised on its own. From shared-mode keyframes, those frames are rendered
exactly at a quarter of their size (a histogram needs samples, not detail) before any
keyframe, whose guesses are made on the palette; per-point ones at their own size, as exact
videos fit them: their synchronised pixels take a few step counts, and which of them the
palette's end goes to changes with the sample's size.

Encoding goes through PyAV (FFmpeg's libraries, shipped in its wheels, x264 included): the
frames are encoded in the process as they come, into memory, and the file is written at the
end in one piece (`files.write_files`), so an interrupted run leaves nothing. yuv420p, which
every browser plays, needs an even frame size.
"""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from generator import rng, shade
from generator.errors import OutputError, SpecError
from generator.files import carries_mark, write_files
from generator.render import chunk_points, render_field, render_labels, render_points, to_image
from generator.spec import ArtworkSpec

INSTALL = "pip install 'attention-art[video]'"
MAX_FPS = 120
# The encoded video is held in memory until it is written whole: 10 minutes at 30 fps, and
# frames no larger than H.264's level 6.2 and browsers decode.
MAX_FRAMES = 18_000
MAX_SIDE = 4096
CRF = 18  # x264's constant quality: visually lossless on these images
# x264's speed/size trade-off: veryfast encodes a 720² frame in a third of medium's time (20
# against 55 ms, which was a fifth of a keyframed zoom's time) for files within 10 % of its.
PRESET = "veryfast"
# Frame pixels of margin a keyframe renders past the frames it serves: the triangle filter
# reaches one frame pixel beyond the centre of each edge pixel.
MARGIN = 2
# Width ratio between keyframes. Each keyframe skips the middle the next one covers (its
# hole, filled from that one), so an octave costs (STEP² - 1) / log2(STEP) frames' pixels:
# 3 at STEP 2, 2 at √2, 1.39 at best (STEP -> 1). A smaller STEP blurs the middle more, as
# holes are filled from holes filled before: √2 leaves it 1.4 times as soft as the edges.
# With guessing, 2^(1/3) and 2^(1/4) were no faster on the 3 s zooms of tests and benchmarks.
STEP = 2**0.5
# A keyframe's first pass measures every GUESS_STRIDE-th point of each axis; the points
# between are guessed where their neighbours lie within GUESS_SPREAD on the palette (see
# `refine`). On the 3 s 256² zoom a stride of 8 measured 12 % fewer points than 4 and took
# 9 % less time, its worst frame 0.011 from the exact one's against 0.009; a spread of 1/32
# saved no time and made a binary zoom's worst frame 1.1 times as far.
GUESS_STRIDE = 8
GUESS_SPREAD = 1 / 64
FIT_SHARE = 4  # keyframed colours are fitted on frames of 1/FIT_SHARE their side,
MIN_FIT = 32  # ... and at least MIN_FIT pixels a side
# Per-point (unguessed) keyframes are made when they render at most this share of the
# frames' pixels, else every frame is rendered: at 0.78 of them (24 frames over 14 octaves,
# 64²) they took 1.14 times the exact video's time, handing frames over included.
UNGUESSED = 0.5
X0_KEPT = 512 * 2**20  # bytes of per-point X(0) kept between exact frames (720²: 83 MB)
GREYS = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # binary's "palette"


@dataclasses.dataclass(frozen=True)
class Motion:
    """What moves: a zoom to `width` around `target` (a, b), and/or a morph to `morph`'s
    W_Q and W_V."""

    target: tuple[float, float] | None = None
    width: float | None = None
    morph: int | None = None


def frame_count(seconds: float, fps: int) -> int:
    if not (isinstance(fps, int) and 1 <= fps <= MAX_FPS):
        raise SpecError(f"fps must be an integer in 1..{MAX_FPS}, got {fps}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise SpecError(f"seconds must be a positive number, got {seconds}")
    if seconds * fps > MAX_FRAMES:
        raise SpecError(f"{seconds:g} s at {fps} fps is over the limit of {MAX_FRAMES} frames; "
                        f"give at most {MAX_FRAMES // fps} --seconds at this fps")
    frames = round(seconds * fps)
    if frames < 2:
        raise SpecError(f"{seconds} s at {fps} fps is {frames} frame(s); a video needs at "
                        "least 2: give more --seconds")
    return frames


def windows(spec: ArtworkSpec, motion: Motion, frames: int) -> list[tuple[float, ...]]:
    """Each frame's window: the spec's, or its exponential zoom to `motion`'s."""
    if motion.target is None and motion.width is None:
        return [spec.window] * frames
    if motion.target is None or motion.width is None:
        raise SpecError("a zoom needs both --zoom-to A,B and --to-width W")
    amin, amax, bmin, bmax = spec.window
    a, b = motion.target
    if not (amin < a < amax and bmin < b < bmax):
        raise SpecError(f"zoom target ({a}, {b}) is outside the window {list(spec.window)}; "
                        "choose A strictly between AMIN and AMAX, and B between BMIN and BMAX")
    start = np.array([amax - amin, bmax - bmin])
    if not (0 < motion.width < start.max()):
        raise SpecError(f"--to-width must be above 0 and below the window's width "
                        f"{start.max():g}, got {motion.width}")
    end = start * motion.width / start.max()  # the window's shape, scaled
    centre0, centre1 = np.array([(amin + amax) / 2, (bmin + bmax) / 2]), np.array([a, b])
    out = []
    for u in np.linspace(0.0, 1.0, frames):
        size = start * (end / start) ** u
        centre = centre1 + (centre0 - centre1) * (size - end) / (start - end)
        lo, hi = centre - size / 2, centre + size / 2
        out.append((float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])))
    return out


def frame_specs(spec: ArtworkSpec, motion: Motion, seconds: float,
                fps: int) -> list[ArtworkSpec]:
    """Each frame's spec, every option checked (before any frame is rendered)."""
    if spec.resolution % 2:
        raise SpecError(f"a video's frames need an even size (yuv420p); got resolution "
                        f"{spec.resolution}: use {spec.resolution + 1}")
    if spec.resolution > MAX_SIDE:
        raise SpecError(f"a video's frames are at most {MAX_SIDE}×{MAX_SIDE}; got resolution "
                        f"{spec.resolution}")
    frames = frame_count(seconds, fps)
    zoom = windows(spec, motion, frames)
    try:
        specs = [dataclasses.replace(spec, window=w) for w in zoom]
    except SpecError as e:  # a window of the zoom, not one the user gave
        raise SpecError(f"--to-width {motion.width:g} zooms deeper than float32 can tell "
                        f"{spec.resolution} pixels apart ({str(e).split(';')[0]}); give a "
                        "larger --to-width or a lower --resolution") from None
    if motion.morph is None and specs[0] == specs[-1]:
        raise SpecError("nothing moves: give --zoom-to and --to-width, or --morph SEED2")
    return specs


# A seeds file's `video` table: these keys, as `attnart animate`'s options of the same names.
GALLERY_VIDEO = {"zoom_to": None, "to_width": None, "morph": None, "seconds": 10.0, "fps": 30,
                 "resolution": 720}


def gallery_plan(spec: ArtworkSpec) -> tuple[ArtworkSpec, Motion, float, int]:
    """(frames' spec, motion, seconds, fps) of the gallery video `spec.video` asks for,
    checked, so that a build can refuse a bad one before it renders anything."""
    options = dict(spec.video)
    unknown = sorted(set(options) - set(GALLERY_VIDEO))
    if unknown:
        raise SpecError(f"seed {spec.seed}: unknown video option(s) {', '.join(unknown)}; "
                        f"use {', '.join(GALLERY_VIDEO)}")
    options = GALLERY_VIDEO | options
    try:
        motion = Motion(target=None if options["zoom_to"] is None
                        else tuple(float(v) for v in options["zoom_to"]),
                        width=None if options["to_width"] is None else float(options["to_width"]),
                        morph=options["morph"])
        frames_spec = dataclasses.replace(spec, resolution=options["resolution"], video=())
        if motion.target is not None and len(motion.target) != 2:
            raise ValueError("zoom_to needs two numbers [A, B]")
        frame_specs(frames_spec, motion, float(options["seconds"]), options["fps"])
    except (SpecError, TypeError, ValueError) as e:
        raise SpecError(f"seed {spec.seed}: video: {e}") from None
    return frames_spec, motion, float(options["seconds"]), options["fps"]


MARK = "made by attnart animate"  # the video's comment: an MP4 ends with it (moov's udta)


def check_output(path: Path, force: bool) -> None:
    if path.suffix.lower() != ".mp4":
        raise OutputError(f"output {path} must end in .mp4")
    if not path.parent.is_dir():
        raise OutputError(f"output folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name ending in .mp4")
    if path.exists() and not force and not carries_mark(path, (MARK.encode(),), at_end=True):
        raise OutputError(f"{path} exists and was not made by attnart animate; choose another "
                          "name or use --force to replace it")


def encoder():
    """PyAV, or a one-line error saying how to install it."""
    try:
        import av
    except ImportError:
        raise SpecError(f"videos are encoded with PyAV: {INSTALL}") from None
    return av


@dataclasses.dataclass(frozen=True)
class Keyframe:
    """A render that frames `first`..`last` (inclusive) are resampled from."""

    spec: ArtworkSpec
    first: int
    last: int


def spacing(spec: ArtworkSpec) -> np.ndarray:
    """(a, b) distance between neighbouring grid points."""
    amin, amax, bmin, bmax = spec.window
    return np.array([amax - amin, bmax - bmin]) / (spec.resolution - 1)


def axes(spec: ArtworkSpec) -> tuple[np.ndarray, np.ndarray]:
    """The grid's a and b values."""
    amin, amax, bmin, bmax = spec.window
    return np.linspace(amin, amax, spec.resolution), np.linspace(bmin, bmax, spec.resolution)


def keyframes(specs: list[ArtworkSpec]) -> list[Keyframe]:
    """The keyframes of a zoom's frames (`frame_specs`), one per STEP of width, each at
    least as fine as every frame it serves and covering their windows with MARGIN frame
    pixels to spare; a SpecError when one would be finer than float32 can tell apart."""
    out, first = [], 0
    for i in range(1, len(specs) + 1):
        if i < len(specs) and (spacing(specs[i])[0] * STEP
                               >= spacing(specs[first])[0] * (1 - 1e-9)):
            continue
        group = specs[first:i]
        margin = MARGIN * spacing(group[0])  # the widest frame's pixels
        lo = np.min([np.array(s.window[::2]) for s in group], axis=0) - margin
        hi = np.max([np.array(s.window[1::2]) for s in group], axis=0) + margin
        fine = np.min([spacing(s) for s in group], axis=0)
        resolution = int(np.ceil(((hi - lo) / fine).max() * (1 + 1e-9))) + 1
        window = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        try:
            spec = dataclasses.replace(group[0], window=window, resolution=resolution)
        except SpecError as e:
            raise SpecError(f"the keyframe of frames {first}..{i - 1} cannot be rendered: {e}; "
                            "zoom less deep or use --every-frame") from None
        out.append(Keyframe(spec, first, i - 1))
        first = i
    return out


def hole(key: ArtworkSpec, finer: ArtworkSpec | None) -> tuple[slice, slice]:
    """The [b, a] index ranges of `key`'s grid that `finer` (the next keyframe) fills: the
    points whose resampling filter lies inside its window, with a pixel to spare."""
    if finer is None:
        return slice(0, 0), slice(0, 0)
    h = 2 * spacing(key)
    ranges = []
    for values, lo, hi, step in zip(axes(key), finer.window[::2], finer.window[1::2], h):
        inner = np.flatnonzero((values >= lo + step) & (values <= hi - step))
        ranges.append(slice(inner[0], inner[-1] + 1) if inner.size else slice(0, 0))
    a, b = ranges
    return (b, a) if a.stop > a.start and b.stop > b.start else (slice(0, 0), slice(0, 0))


def rendered(keys: list[Keyframe]) -> int:
    """How many points the keyframes render without guessing: all but their holes."""
    specs = [key.spec for key in keys]
    return sum(s.resolution**2 - (r.stop - r.start) * (c.stop - c.start)
               for s, (r, c) in zip(specs, holes(specs)))


def holes(keys: list[ArtworkSpec]) -> list[tuple[slice, slice]]:
    """Each keyframe's hole (`hole`), the next one filling it; the last has none."""
    return [hole(key, finer) for key, finer in zip(keys, keys[1:] + [None])]


def resample(values: np.ndarray, key: ArtworkSpec, lo: np.ndarray, step: np.ndarray,
             shape: tuple[int, int]) -> np.ndarray:
    """The (rows, columns) = `shape` [b, a] grid from (a, b) = `lo` by `step` resampled from
    the keyframe's values ([b, a], or [b, a, channel]): a triangle filter reaching one
    target pixel on each side of each pixel's centre (Pillow's antialiased bilinear resize
    over the target's box in the keyframe's pixels)."""
    if values.ndim == 3:
        return np.stack([resample(values[..., c], key, lo, step, shape)
                         for c in range(values.shape[2])], axis=-1)
    h = spacing(key)
    start = (lo - step / 2 - np.array(key.window[::2])) / h + 0.5
    stop = start + np.array(shape[::-1]) * step / h
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    return np.asarray(image.resize(shape[::-1], Image.Resampling.BILINEAR,
                                   box=(start[0], start[1], stop[0], stop[1])))


def held(draws: rng.Draws, spec: ArtworkSpec, lo: int, hi: int, device) -> rng.Draws:
    """`draws` whose per-point X(0) of grid points [lo, hi) is drawn once, then served from
    memory (as copies: callers normalise it in place). Every exact frame has the same grid,
    hence the same X(0), and drawing it again costs about a sixth of a frame's time; a
    keyframe's band is measured in several passes. Shared mode's is one (1, n, 2) anyway."""
    if spec.init == "shared":
        return draws
    values = draws.initial(lo, hi, device)

    def initial(start: int, stop: int, device):
        if not lo <= start <= stop <= hi:
            return draws.initial(start, stop, device)
        part = values[start - lo:stop - lo]
        return part.copy() if isinstance(part, np.ndarray) else part.clone()

    return dataclasses.replace(draws, initial=initial)


def refinements(side: int, stride: int) -> list[np.ndarray]:
    """One axis's grid indices in the order keyframes are filled in: every `stride`-th and
    the last, then the midpoints between neighbours, until all are in; each entry is the
    sorted set known after that step."""
    known = np.union1d(np.arange(0, side, stride), [side - 1])
    steps = [known]
    while known.size < side:
        known = np.union1d(known, ((known[:-1] + known[1:]) // 2)[np.diff(known) > 1])
        steps.append(known)
    return steps


def bands(side: int, rows: int, stride: int) -> list[range]:
    """A keyframe's rows in bands of about `rows`, each starting on the last one's last row
    (so a band's guesses lie between its own rows) and on a multiple of `stride`."""
    rows = max(stride, rows // stride * stride)
    return [range(top, min(top + rows, side - 1) + 1) for top in range(0, max(1, side - 1), rows)]


def refine(places: np.ndarray, keep: np.ndarray, rows: range, measure,
           stride: int = GUESS_STRIDE) -> int:
    """Fill in the `keep` points ([b, a] bool) of `rows` of a keyframe's palette positions
    (`places`, NaN where unknown) as deep-zoom renderers guess (Fractint's solid guessing,
    Kalles Fraktaler's): first `refinements`' first grid is measured (where still unknown),
    then, step by step, each new point between known ones is their mean when they lie
    within GUESS_SPREAD of each other on the palette, and is measured otherwise
    (`measure(sorted flat indices)` -> positions). Returns how many points were measured."""
    side = places.shape[1]
    steps = [[rows.start + r for r in refinements(len(rows), stride)],
             refinements(side, stride)]
    depth = max(map(len, steps))
    steps = [axis + axis[-1:] * (depth - len(axis)) for axis in steps]
    first = (steps[0][0][:, None] * side + steps[1][0][None, :]).ravel()
    first = first[keep.flat[first] & np.isnan(places.flat[first])]
    places.flat[first] = measure(first)
    measured = first.size
    for step in range(1, depth):
        (old_r, fresh_r, lo_r, hi_r), (old_c, fresh_c, lo_c, hi_c) = (
            _between(axis[step - 1], axis[step]) for axis in steps)
        # new rows at old columns, old rows at new columns, and new at new: each between
        # two or four points known at the last step
        kinds = ((fresh_r, old_c, [(lo_r, old_c), (hi_r, old_c)]),
                 (old_r, fresh_c, [(old_r, lo_c), (old_r, hi_c)]),
                 (fresh_r, fresh_c, [(lo_r, lo_c), (lo_r, hi_c), (hi_r, lo_c), (hi_r, hi_c)]))
        index, guessed, values = [], [], []
        for r, c, parents in kinds:
            near = np.stack([places[np.ix_(pr, pc)] for pr, pc in parents])
            agree = (np.isfinite(near).all(axis=0)
                     & (near.max(axis=0) - near.min(axis=0) <= GUESS_SPREAD))
            wanted = keep[np.ix_(r, c)] & np.isnan(places[np.ix_(r, c)])  # not yet known
            flat = r[:, None] * side + c[None, :]
            index.append(flat[wanted & ~agree])
            guessed.append(flat[wanted & agree])
            values.append(near.mean(axis=0)[wanted & agree])
        places.flat[np.concatenate(guessed)] = np.concatenate(values)
        index = np.sort(np.concatenate(index))
        if index.size:
            places.flat[index] = measure(index)
            measured += index.size
    return measured


def _between(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, ...]:
    """The old indices, the new ones, and each new one's known neighbours below and above."""
    fresh = np.setdiff1d(new, old)
    after = np.searchsorted(old, fresh)
    return old, fresh, old[after - 1], old[after]


def block_difference(got: np.ndarray, want: np.ndarray, block: int = 8) -> float:
    """How far a frame is from another, both (H, W, 3) uint8: the mean over `block`²
    blocks of |difference| of their mean grey levels (BT.601 luma, 0..1). Blocks, not
    pixels, because a keyframed frame is antialiased where an exact one is point-sampled:
    they agree on what each small area shows, not on each pixel's speckle."""
    if got.shape != want.shape or got.ndim != 3:
        raise ValueError(f"frames must be the same (H, W, 3) shape, got {got.shape} and "
                         f"{want.shape}")
    h, w = (side - side % block for side in got.shape[:2])
    luma = np.array([0.299, 0.587, 0.114]) / 255

    def means(frame):  # (H/block, W/block)
        grey = frame[:h, :w].astype(np.float64) @ luma
        return grey.reshape(h // block, block, w // block, block).mean(axis=(1, 3))

    return float(np.abs(means(got) - means(want)).mean())


def animate(spec: ArtworkSpec, motion: Motion, output: Path, *, seconds: float, fps: int = 30,
            device, backend: str = "auto", every_frame: bool = False, force: bool = False,
            progress: bool = False) -> dict:
    """Render the frames of `motion` from `spec` and write them to `output` (MP4).

    A zoom's frames are resampled from keyframes (see the module's notes) unless
    `every_frame`, or there is a morph: then each is rendered exactly. Every check runs
    before the first render. Returns what was made: frames, size, keyframes rendered (0 when
    every frame was), windows of the first and last frames, and the morph's end matrices
    when there is a morph.
    """
    check_output(output, force)
    av = encoder()
    specs = frame_specs(spec, motion, seconds, fps)
    frames = len(specs)
    keys = [] if every_frame or motion.morph is not None else keyframes(specs)
    guessed = spec.init == "shared"  # keyframes are guessed; per-point points are independent
    if not guessed and rendered(keys) > UNGUESSED * frames * spec.resolution**2:
        keys = []  # unguessed keyframes would cost about as much as the frames themselves
    colours = shade.rgb(spec.palette) if spec.shade == "speed" else GREYS
    draws = rng.draw(spec)
    if not keys and spec.resolution**2 * spec.points * 8 <= X0_KEPT:
        draws = held(draws, spec, 0, spec.resolution**2, device)
    ends = (draws.wq, draws.wv)
    if motion.morph is not None:
        other = rng.draw(dataclasses.replace(spec, seed=motion.morph, wq=None, wv=None))
        ends = (other.wq, other.wv)

    def frame_draws(i: int) -> rng.Draws:
        u = np.float32(i / (frames - 1))
        wq, wv = ((1 - u) * start + u * end for start, end in zip((draws.wq, draws.wv), ends))
        return dataclasses.replace(draws, wq=wq.astype(np.float32), wv=wv.astype(np.float32))

    def compute(s: ArtworkSpec, d: rng.Draws) -> np.ndarray:
        """Labels, or the speed field (shade speed), (side, side) [b, a]."""
        if spec.shade == "binary":
            return render_labels(s, d, device=device, backend=backend)
        return render_field(s, d, device=device, backend=backend)[1]

    # Exact: frame i's field, rendered ahead for the colours. Keyframes: the colours are
    # fitted on the same frames rendered exactly at 1/FIT_SHARE of their size. Per-point
    # points are independent draws, so their neighbours say nothing about them: nothing is
    # guessed, and the colours are fitted on the frames at their own size (a histogram of
    # a few step counts, whose ends take the palette's ends, changes with the sample size).
    fields, serving, equaliser = {}, [0] * frames, None
    fit = sorted({0, frames // 2, frames - 1})
    stride, share = (GUESS_STRIDE, FIT_SHARE) if guessed else (1, 1)
    # what keyframes measure: the speed field to colour or to guess on, else the labels
    speed = spec.shade == "speed" or guessed
    if keys and speed:
        small = [dataclasses.replace(specs[i], resolution=max(MIN_FIT, spec.resolution
                                                              // share)) for i in fit]
        equaliser = shade.Equaliser.fit(*(render_field(
            s, dataclasses.replace(rng.draw(s), wq=draws.wq, wv=draws.wv), device=device,
            backend=backend)[1] for s in small))
    elif spec.shade == "speed":
        fields = {i: compute(specs[i], frame_draws(i)) for i in fit}
        equaliser = shade.Equaliser.fit(*fields.values())

    def positions(field: np.ndarray) -> np.ndarray:
        """Each pixel's place on the palette, 0..1; labels where no colours were fitted."""
        if equaliser is None:
            return field.astype(np.float32)
        return equaliser.positions(field).astype(np.float32)

    def colour(at: np.ndarray) -> np.ndarray:
        """Palette positions' colours, (..., 3) uint8."""
        return colours[np.rint(np.clip(at, 0, 1) * (len(colours) - 1)).astype(np.int64)]

    # Each keyframe filled in, finest first, band by band (shared mode: guessed on the speed
    # field's palette positions whatever the shade, a binary keyframe's labels then following
    # from them, as the speed changes ahead of an edge where labels do not), and its hole
    # resampled from the next. A keyframe has its own grid, hence its own X(0) (per-point),
    # under the same W_Q and W_V.
    key_specs = [key.spec for key in keys]
    skips = holes(key_specs)
    places = [None] * len(keys)
    for k in tqdm(reversed(range(len(keys))), total=len(keys), unit="keyframe",
                  disable=not progress, desc="keyframes"):
        key, side = key_specs[k], key_specs[k].resolution
        serving[keys[k].first:keys[k].last + 1] = [k] * (keys[k].last - keys[k].first + 1)
        key_draws = dataclasses.replace(rng.draw(key), wq=draws.wq, wv=draws.wv)
        keep = np.ones((side, side), dtype=bool)
        keep[skips[k]] = False
        places[k] = np.full((side, side), np.nan, dtype=np.float32)
        rows = side if key.init == "shared" else chunk_points(key, device) // side
        for band in bands(side, rows, stride):
            source = held(key_draws, key, band.start * side, band.stop * side, device)
            refine(places[k], keep, band, lambda index, key=key, source=source: positions(
                render_points(key, source, index, speed=speed, device=device, backend=backend)),
                   stride)
        if spec.shade == "binary":
            places[k] = np.where(np.isnan(places[k]), np.nan, places[k] > 0.5).astype(np.float32)
        if not guessed:  # its colours (the hole is filled below)
            places[k] = colour(np.nan_to_num(places[k])).astype(np.float32)
        rows, columns = skips[k]
        if rows.stop > rows.start:
            a, b = axes(key)
            places[k][rows, columns] = resample(
                places[k + 1], key_specs[k + 1], np.array([a[columns.start], b[rows.start]]),
                spacing(key), (rows.stop - rows.start, columns.stop - columns.start))

    def frame_positions(i: int) -> np.ndarray:
        if not keys:
            return positions(fields.pop(i) if i in fields else compute(specs[i], frame_draws(i)))
        frame = specs[i]
        return resample(places[serving[i]], key_specs[serving[i]],
                        np.array(frame.window[::2]), spacing(frame),
                        (frame.resolution, frame.resolution))

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        container.metadata["comment"] = MARK
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = spec.resolution
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF), "preset": PRESET}
        for i in tqdm(range(frames), unit="frame", disable=not progress, desc="frames"):
            values = frame_positions(i)
            grid = (np.clip(np.rint(values), 0, 255).astype(np.uint8) if values.ndim == 3
                    else colour(values))
            rgb = np.asarray(to_image(grid))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    write_files({output: buffer.getvalue()})
    meta = {"frames": frames, "fps": fps, "size": spec.resolution, "keyframes": len(keys),
            "first_window": list(specs[0].window), "last_window": list(specs[-1].window)}
    if motion.morph is not None:
        meta |= {"morph": motion.morph, "W_Q_end": ends[0].tolist(), "W_V_end": ends[1].tolist()}
    return meta
