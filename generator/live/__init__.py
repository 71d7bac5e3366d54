"""The artwork as code: one self-contained WebGL2 page that renders a spec in the browser.

`page(spec)` writes the page: its script and fragment shader inline (`static/`), the spec as
JSON with every float32 value (W_Q, W_V, threshold, shared X(0)) as its bit pattern, so the
browser computes from exactly the numbers `render` uses. Per-point X(0) is drawn in the
shader from the seed on the emulated CUDA stream (`generator.rng`): Philox4x32-10 in 32-bit
integers, the launch layout of the spec's CUDA profile, Box-Muller in float32. What cannot be
drawn there (the CPU stream's mt19937, per point) gets a page that shows the still image and
says why.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from generator import rng, shade
from generator.errors import InputError, SpecError
from generator.files import read_input
from generator.spec import ArtworkSpec

# Points a fragment holds in its arrays (3 vec2 and a float each): beyond this the shader
# outgrows what GPUs keep in registers, and the n^2 step would be too slow to be live anyway.
MAX_POINTS = 128
PLATFORMS = ("fxhash", "artblocks")


def _static(name: str) -> str:
    return (resources.files(__name__) / "static" / name).read_text(encoding="utf-8")


def _inline(text: str) -> Markup:
    """Script text safe between <script> tags: it may not close the element."""
    if "</script" in text.lower() or "<!--" in text:
        raise RuntimeError("a live page script holds '</script' or '<!--'")  # a bug of ours
    return Markup(text)


def _bits(values) -> list[int]:
    """float32 values as their IEEE bit patterns: exact, where decimals would round."""
    return np.asarray(values, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def _palettes() -> dict[str, list[str]]:
    """Every named palette as 'rrggbb' colours, when colorcet is there to name them."""
    try:
        return {name: _hex(shade.rgb(name)) for name in shade.PALETTES}
    except SpecError:  # no colorcet: a page takes colours given in its URL
        return {}


def _hex(colours: np.ndarray) -> list[str]:
    return ["".join(f"{int(v):02x}" for v in c) for c in colours]


def unsupported(spec: ArtworkSpec) -> str:
    """Why the browser cannot render `spec` ('' when it can)."""
    if spec.points > MAX_POINTS:
        return (f"{spec.points} points are more than a live page renders ({MAX_POINTS}); "
                "this is the published picture.")
    if spec.init == "per-point" and spec.rng == "cpu":
        return ("per-point X(0) on the CPU stream (mt19937) cannot be drawn in the browser; "
                "this is the published picture.")
    return ""


def spec_data(spec: ArtworkSpec, *, still: str | None = None, features: dict | None = None,
              token: str | None = None) -> dict:
    """What the page's script reads: the spec, its float32 values as bit patterns; a
    `token` page draws them from the seed its platform's hash gives (spec.seed: a preview)."""
    draws = rng.draw(spec)
    _, offset = rng.cuda_launches(4, 0, spec.cuda_sms, spec.cuda_threads_per_sm)  # W_Q
    _, offset = rng.cuda_launches(4, offset, spec.cuda_sms, spec.cuda_threads_per_sm)  # W_V
    palettes = _palettes()
    palette = spec.palette
    if isinstance(palette, str):
        palette = palettes.get(palette)
    elif palette is not None:
        palette = [c.lstrip("#") for c in palette]
    data = {
        "id": spec.id, "title": spec.title or f"Seed {spec.seed}", "seed": str(spec.seed),
        "seedWords": [spec.seed & 0xFFFFFFFF, spec.seed >> 32],
        "points": spec.points, "iterations": spec.iterations, "window": list(spec.window),
        "resolution": spec.resolution, "threshold": _bits([spec.threshold])[0],
        "init": spec.init, "rng": spec.rng,
        "wq": _bits(draws.wq), "wv": _bits(draws.wv),
        "cuda": {"sms": spec.cuda_sms, "threadsPerSm": spec.cuda_threads_per_sm,
                 "offset": offset},
        "shade": spec.shade, "palette": palette, "palettes": palettes,
        "still": still, "features": features or {}, "unsupported": unsupported(spec),
        "token": token, "wqGiven": spec.wq is not None, "wvGiven": spec.wv is not None,
    }
    if spec.init == "shared":
        data["x0"] = _bits(rng.unit_rows(draws.initial(0, 1, "cpu")))  # (1, n, 2): 2n words
    return data


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader(__name__, "static"),
                              autoescape=True, keep_trailing_newline=True)


def page(spec: ArtworkSpec, *, still: str | None = None, features: dict | None = None) -> bytes:
    """The live page of `spec`: one HTML file, nothing fetched but `still` (the published
    image, relative to the page, shown only where the browser cannot render); `features`,
    the artwork's traits, are handed to fxhash and Art Blocks where the page runs there."""
    data = spec_data(spec, still=still, features=features)
    return _environment().get_template("page.html").render(
        spec=data, title=data["title"], shader=_inline(_static("landscape.frag")),
        script=_inline(_static("live.js"))).encode()


def token_files(spec: ArtworkSpec, platform: str) -> dict[str, bytes]:
    """The live page as a generative token's upload: `index.html` and its script `live.js`,
    which reads the platform's hash (fxhash's `$fx.hash`, Art Blocks' `tokenData.hash`) and
    takes the seed from it; spec.seed renders when the page is opened alone. Every other
    field of `spec` is the project's, the same in every token."""
    if platform not in PLATFORMS:
        raise SpecError(f"unknown platform {platform!r}; use {' or '.join(PLATFORMS)}")
    if spec.rng != "cuda":
        raise SpecError("a token draws W_Q, W_V and X(0) from its hash's seed in the browser, "
                        "on the CUDA stream only; use --rng cuda")
    if spec.points > MAX_POINTS:
        raise SpecError(f"a token renders at most {MAX_POINTS} points in the browser, got "
                        f"{spec.points}; lower --points")
    features = {"Init": spec.init, "Points": spec.points, "Iterations": spec.iterations,
                "Shade": spec.shade}
    data = spec_data(spec, features=features, token=platform)
    # the preview seed's draws stay out: the script draws every token's own
    data = {k: v for k, v in data.items() if k not in ("id", "x0")} | {
        "title": spec.title or "Attention dynamics"}
    if spec.wq is None:
        del data["wq"]
    if spec.wv is None:
        del data["wv"]
    script = (f"window.ATTNART_SPEC = {json.dumps(data)};\n"
              f"window.ATTNART_SHADER = {json.dumps(_static('landscape.frag'))};\n"
              + _static("live.js"))
    page = _environment().get_template("page.html").render(
        title=data["title"], external="live.js", platform=platform).encode()
    return {"index.html": page, "live.js": script.encode()}


TOKEN_MARKS = {"index.html": b'<script src="live.js"></script>', "live.js": b"window.ATTNART_SPEC"}


def tokens_written(folder: Path) -> set[str]:
    """The files of `folder` an earlier export-token wrote (its own marks are in them), which
    a new export replaces; a FIFO or device in their place is never read."""
    written = set()
    for name, mark in TOKEN_MARKS.items():
        try:
            if mark in read_input(folder / name, "token file", limit=1 << 22):
                written.add(name)
        except InputError:  # missing, not a regular file, too big: not ours
            continue
    return written
