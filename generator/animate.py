"""Keyframed zooms and morphs -> frames -> an H.264 MP4.

A zoom narrows the spec's window exponentially (a constant zoom factor per frame) to a
window of a given width centred on a target point; the centre moves in step with the width,
so the target drifts to the middle as it grows. A morph interpolates W_Q and W_V linearly
from the seed's to a second seed's. X(0) stays the first seed's throughout, in both init
modes: it is drawn once for the frame's grid, so per-point noise stays put on the screen and
only the map changes, never the dice.

Colour (shade speed) is normalised once, on three keyframes (first, middle, last): every
frame is coloured by that one `shade.Equaliser`, so colours do not flicker as they would if
each frame were equalised on its own.

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
from tqdm import tqdm

from generator import rng, shade
from generator.errors import OutputError, SpecError
from generator.files import write_files
from generator.render import render_field, render_labels, to_image
from generator.spec import ArtworkSpec

INSTALL = "pip install 'attention-art[video]'"
MAX_FPS = 120
CRF = 18  # x264's constant quality: visually lossless on these images


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
                        "choose A in AMIN..AMAX and B in BMIN..BMAX")
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
    frames = frame_count(seconds, fps)
    specs = [dataclasses.replace(spec, window=w) for w in windows(spec, motion, frames)]
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


def check_output(path: Path, force: bool) -> None:
    if path.suffix.lower() != ".mp4":
        raise OutputError(f"output {path} must end in .mp4")
    if not path.parent.is_dir():
        raise OutputError(f"output folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name ending in .mp4")
    if path.exists() and not force:
        raise OutputError(f"{path} exists; choose another name or use --force to replace it")


def encoder():
    """PyAV, or a one-line error saying how to install it."""
    try:
        import av
    except ImportError:
        raise SpecError(f"videos are encoded with PyAV: {INSTALL}") from None
    return av


def animate(spec: ArtworkSpec, motion: Motion, output: Path, *, seconds: float, fps: int = 30,
            device, backend: str = "auto", force: bool = False,
            progress: bool = False) -> dict:
    """Render the frames of `motion` from `spec` and write them to `output` (MP4).

    Every check runs before the first frame. Returns what was made: frames, size, windows
    of the first and last frames, and the morph's end matrices when there is a morph.
    """
    check_output(output, force)
    av = encoder()
    specs = frame_specs(spec, motion, seconds, fps)
    frames = len(specs)
    colours = shade.rgb(spec.palette) if spec.shade == "speed" else None
    draws = rng.draw(spec)
    ends = (draws.wq, draws.wv)
    if motion.morph is not None:
        other = rng.draw(dataclasses.replace(spec, seed=motion.morph, wq=None, wv=None))
        ends = (other.wq, other.wv)

    def frame_draws(i: int) -> rng.Draws:
        u = np.float32(i / (frames - 1))
        wq, wv = ((1 - u) * start + u * end for start, end in zip((draws.wq, draws.wv), ends))
        return dataclasses.replace(draws, wq=wq.astype(np.float32), wv=wv.astype(np.float32))

    def compute(i: int):
        if colours is None:
            return render_labels(specs[i], frame_draws(i), device=device, backend=backend)
        return render_field(specs[i], frame_draws(i), device=device, backend=backend)[1]

    keyframes = {}
    if colours is not None:
        keyframes = {i: compute(i) for i in sorted({0, frames // 2, frames - 1})}
        equaliser = shade.Equaliser.fit(*keyframes.values())

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = spec.resolution
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF)}
        for i in tqdm(range(frames), unit="frame", disable=not progress, desc="frames"):
            grid = keyframes.pop(i) if i in keyframes else compute(i)
            if colours is not None:
                grid = shade.colourise(grid, colours, equaliser)
            rgb = np.asarray(to_image(grid).convert("RGB"))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    write_files({output: buffer.getvalue()})
    meta = {"frames": frames, "fps": fps, "size": spec.resolution,
            "first_window": list(specs[0].window), "last_window": list(specs[-1].window)}
    if motion.morph is not None:
        meta |= {"morph": motion.morph, "W_Q_end": ends[0].tolist(), "W_V_end": ends[1].tolist()}
    return meta
