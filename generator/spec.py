"""`ArtworkSpec`: everything that determines one landscape, validated, canonical, hashable."""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import unicodedata
from dataclasses import asdict, dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from generator import shade as shading
from generator.errors import InputError, SpecError
from generator.files import read_input

SEED_MAX = 2**64 - 1  # torch.manual_seed accepts 0 ... 2**64 - 1
INIT_MODES = ("per-point", "shared")
RNG_MODES = ("cuda", "cpu")

# (streaming multiprocessors, max resident threads per SM) of the GPUs whose torch.randn
# streams we reproduce; large draws depend on the launch grid, hence on these two numbers.
CUDA_PROFILES = {
    "t4": (40, 1024),
    "v100": (80, 2048),
    "a100": (108, 2048),
    "l4": (58, 1536),
    "h100": (132, 2048),
}

# Labels and image take one byte per pixel each: past 32768² (2 GiB of them) a render is
# no longer a picture anyone can open.
MAX_RESOLUTION = 32768


IDENTITY = (1.0, 0.0, 0.0, 1.0)
# Format characters some scripts and emoji need: the zero-width non-joiner (Persian) and
# joiner (Indic scripts, emoji sequences). Every other one is refused in a line of text.
JOINERS = frozenset("\u200c\u200d")


def printable_line(text: str) -> bool:
    """Whether `text` reads as the one line it shows: printable characters and spaces of any
    kind, no control character (NUL, a line break) and no format character but the joiners,
    so no bidirectional override or isolate that would show it in another order."""
    return all(ch.isprintable() or ch in JOINERS or unicodedata.category(ch) == "Zs"
               for ch in text)


def check_line(text, what: str) -> None:
    """Refuse `text` (a title, shown in pages and metadata) unless it is one printable line."""
    if not isinstance(text, str):
        raise SpecError(f"{what} must be text, got {text!r}")
    if not printable_line(text):
        ch = next(c for c in text if not printable_line(c))
        name = f" ({unicodedata.name(ch)})" if unicodedata.name(ch, "") else ""
        raise SpecError(f"{what} {text!r} holds U+{ord(ch):04X}{name}, a control or format "
                        "character; give one line of printable text")


FLOAT32_MAX = 3.4028234663852886e38  # everything is computed in float32


def _floats(name: str, values, count: int, what: str) -> tuple[float, ...]:
    """`count` finite float32-range numbers, or a SpecError saying what `name` needs."""
    try:
        values = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise SpecError(f"{name} needs {what}, got {values!r}") from None
    if len(values) != count:
        raise SpecError(f"{name} needs {what}, got {len(values)} numbers")
    if not all(math.isfinite(v) and abs(v) <= FLOAT32_MAX for v in values):
        raise SpecError(f"{name} must hold finite float32 numbers (|x| < 3.4e38), got {values}")
    return values


def _matrix(name: str, values) -> tuple[float, float, float, float] | None:
    """A 2x2 matrix from 'identity', 'a11,a12,a21,a22', 4 numbers or 2 rows of 2."""
    if values is None:
        return None
    if isinstance(values, str):
        values = IDENTITY if values.strip() == "identity" else values.split(",")
    elif not isinstance(values, (list, tuple)):
        values = [values]
    elif len(values) == 2 and all(isinstance(row, (list, tuple)) for row in values):
        values = [v for row in values for v in row]
    return _floats(name, values, 4, "4 numbers a11,a12,a21,a22 or 'identity'")


def _named(seed: int, data: dict) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return f"{seed}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class ArtworkSpec:
    """One artwork: a seed and every parameter of the paper's map and grid."""

    seed: int
    resolution: int = 1500  # grid points per axis; the image is resolution x resolution
    points: int = 20  # n, the number of unit vectors
    iterations: int = 100  # T
    window: tuple[float, float, float, float] = (-8.0, 8.0, -8.0, 8.0)  # amin, amax, bmin, bmax
    threshold: float = 1e-5  # converged when max_i |x_i1 - x_11| < threshold
    init: str = "per-point"  # per-point: own X(0) per grid point (Appendix A); shared: one X(0)
    wq: tuple[float, float, float, float] | None = None  # row-major W_Q; None = drawn from seed
    wv: tuple[float, float, float, float] | None = None  # row-major W_V; None = drawn from seed
    rng: str = "cuda"  # cuda: torch's CUDA Philox stream, emulated anywhere; cpu: torch's CPU one
    cuda_sms: int = CUDA_PROFILES["t4"][0]  # launch grid of the emulated GPU (the paper's T4)
    cuda_threads_per_sm: int = CUDA_PROFILES["t4"][1]
    shade: str = "binary"  # binary: white = synchronised (the paper's); speed: the speed field
    palette: str | tuple[str, ...] | None = None  # speed's colours: a name or '#rrggbb' colours
    title: str = field(default="", compare=False)  # display only; not part of the id
    # The gallery's video of the artwork: a seeds file's `video` table (see
    # `animate.gallery_plan`), as sorted (key, value) pairs; publishing only, not in the id.
    video: tuple = field(default=(), compare=False)

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise SpecError(f"seed must be an integer, got {self.seed!r}")
        if not 0 <= self.seed <= SEED_MAX:
            raise SpecError(f"seed must be in 0..{SEED_MAX} (what torch.manual_seed accepts), "
                            f"got {self.seed}")
        for name, low, high in (("resolution", 1, MAX_RESOLUTION), ("points", 1, 4096),
                                ("iterations", 0, 100_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SpecError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        window = self.window if isinstance(self.window, (list, tuple)) else [self.window]
        window = _floats("window", window, 4, "4 finite numbers AMIN,AMAX,BMIN,BMAX")
        if window[0] >= window[1] or window[2] >= window[3]:
            raise SpecError(f"window needs AMIN < AMAX and BMIN < BMAX, got {window}")
        object.__setattr__(self, "window", window)
        for axis, low, high in (("a", *window[:2]), ("b", *window[2:])):
            # the kernels see the grid in float32: a window narrower than its spacing there
            # would repeat rows or columns
            values = np.linspace(low, high, self.resolution).astype(np.float32)
            if np.any(np.diff(values) <= 0):
                raise SpecError(f"window {axis} {low}..{high} is too narrow for "
                                f"{self.resolution} distinct float32 values; widen it or "
                                "lower the resolution")
        (threshold,) = _floats("threshold", [self.threshold], 1, "a positive number")
        if threshold <= 0 or np.float32(threshold) <= 0:
            raise SpecError(f"threshold must be a positive float32 number (at least 1.4e-45, "
                            f"as the kernels compare in float32), got {self.threshold}")
        object.__setattr__(self, "threshold", threshold)
        if self.init not in INIT_MODES:
            raise SpecError(f"init must be one of {', '.join(INIT_MODES)}, got {self.init!r}")
        if self.rng not in RNG_MODES:
            raise SpecError(f"rng must be one of {', '.join(RNG_MODES)}, got {self.rng!r}")
        for name in ("cuda_sms", "cuda_threads_per_sm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        if self.cuda_threads_per_sm % 256:
            raise SpecError("cuda threads per SM must be a multiple of 256 (the block size), "
                            f"got {self.cuda_threads_per_sm}")
        check_line(self.title, "title")
        video = self.video
        if isinstance(video, dict):
            video = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                 for k, v in video.items()))
        if not isinstance(video, tuple):
            raise SpecError(f"video must be a table such as {{ zoom_to = [2, 4], to_width = 0.5 "
                            f"}}, got {self.video!r}")
        object.__setattr__(self, "video", video)
        if self.shade not in shading.SHADES:
            raise SpecError(f"shade must be one of {', '.join(shading.SHADES)}, "
                            f"got {self.shade!r}")
        if self.shade == "binary" and self.palette is not None:
            raise SpecError("a palette colours the speed field: add shade = speed "
                            "(--shade speed)")
        if self.shade == "speed":
            palette = shading.DEFAULT_PALETTE if self.palette is None else self.palette
            object.__setattr__(self, "palette", shading.check_palette(palette))
        object.__setattr__(self, "wq", _matrix("W_Q", self.wq))
        object.__setattr__(self, "wv", _matrix("W_V", self.wv))

    @property
    def profile_matters(self) -> bool:
        """Whether the CUDA profile changes the pixels: only when X(0) is drawn on the CUDA
        stream by a launch grid capped at the GPU's size (`rng.cuda_launches`); a smaller
        draw is laid out the same on every GPU, and the CPU stream has no grid."""
        numel = self.points * 2 * (1 if self.init == "shared" else self.resolution**2)
        blocks = -(-numel // 256)  # 256-thread blocks the draw asks for
        return self.rng == "cuda" and blocks > self.cuda_sms * self.cuda_threads_per_sm // 256

    def canonical(self) -> dict:
        """Every field but the title, as plain JSON-ready values; shade and palette only when
        not binary, so a binary artwork keeps the id it had before colours existed."""
        data = asdict(self)
        del data["title"], data["video"]
        if self.shade == "binary":
            del data["shade"], data["palette"]
        elif not isinstance(self.palette, str):
            data["palette"] = list(self.palette)
        data["window"] = list(self.window)
        for key in ("wq", "wv"):
            data[key] = None if data[key] is None else list(data[key])
        return data

    @property
    def id(self) -> str:
        """Stable name for files and cache entries: same pixels, same id, so the CUDA profile
        counts only where it changes them."""
        data = self.canonical()
        if not self.profile_matters:
            data["cuda_sms"] = data["cuda_threads_per_sm"] = None
        return _named(self.seed, data)

    def former_ids(self) -> list[str]:
        """Ids attnart 0.1 gave the same pixels (its ids always counted the CUDA profile), so
        that renders cached under them are recognised rather than made again."""
        former = _named(self.seed, self.canonical())
        return [former] if former != self.id else []

    @classmethod
    def from_dict(cls, data: dict) -> ArtworkSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown spec field(s): {', '.join(unknown)}")
        if isinstance(data.get("window"), list):
            data = data | {"window": tuple(data["window"])}
        return cls(**data)


def _seeds_toml(path: Path | Traversable) -> dict:
    """A seeds file's TOML; `path` may be a file of the package (`theme.paper_seeds()`)."""
    if isinstance(path, str):
        path = Path(path)
    # a file the user names must be a regular one (a FIFO would block, /dev/zero never end)
    try:
        raw = read_input(path, "seeds file") if isinstance(path, Path) else path.read_bytes()
    except InputError as e:  # what every caller of this function catches is a SpecError
        raise SpecError(str(e)) from None
    try:
        # utf-8-sig: a byte-order mark, as some editors write, is not part of the text
        return tomllib.loads(raw.decode("utf-8-sig"))
    except ValueError as e:  # TOMLDecodeError and UnicodeDecodeError are both
        raise SpecError(f"seeds file {path} cannot be read as TOML: {e}") from None


# A seeds file's optional [collection] table: what `attnart build` shows of the collection.
COLLECTION_KEYS = ("title", "description", "artist", "license")
DEFAULT_TITLE = "Attention Dynamics Art"
SIDECAR_KEYS = {"id", "seed", "W_Q", "W_V", "version"}  # what says attnart wrote a sidecar
SOFTWARE = "attnart"  # the "Software" text of a render's PNG


def load_collection(path: Path | Traversable) -> dict[str, str]:
    """The `[collection]` table of a seeds file, checked: text for each of COLLECTION_KEYS
    that it sets ({} when it has none)."""
    table = _seeds_toml(path).get("collection", {})
    if not isinstance(table, dict):
        raise SpecError(f"seeds file {path}: collection must be a table, [collection]")
    unknown = sorted(set(table) - set(COLLECTION_KEYS))
    if unknown:
        raise SpecError(f"seeds file {path}: unknown [collection] key(s) {', '.join(unknown)}; "
                        f"use {', '.join(COLLECTION_KEYS)}")
    return {key: paragraph(value, f"seeds file {path}: collection {key}")
            for key, value in table.items()}


def paragraph(text, what: str) -> str:
    """`text` as one line: as `check_line`, but line breaks and tabs are allowed and read as
    spaces (a paragraph typed over several lines), any other control character is not."""
    line = re.sub(r"[ \t\r\n]+", " ", text).strip() if isinstance(text, str) else text
    check_line(line, what)
    return line


def load_seeds(path: Path | Traversable, defaults: dict | None = None) -> list[ArtworkSpec]:
    """The artworks of a seeds TOML (`[[artwork]]` tables), in order; `path` may be a file of
    the package (`theme.paper_seeds()`).

    A field set in the file wins over `defaults` (say, a command line's resolution).
    """
    data = _seeds_toml(path)
    entries = data.get("artwork")
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"seeds file {path} lists no [[artwork]] tables")
    specs, seen = [], {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "seed" not in entry:
            raise SpecError(f"{path}: artwork {number} must be a table with a seed = N line")
        try:
            spec = ArtworkSpec.from_dict((defaults or {}) | entry)
        except (SpecError, TypeError) as e:
            raise SpecError(f"{path}: artwork {number}: {e}") from None
        if spec.id in seen:
            raise SpecError(f"{path}: artwork {number} repeats artwork {seen[spec.id]}")
        seen[spec.id] = number
        specs.append(spec)
    return specs


def toml_value(value) -> str:
    """A TOML literal of a spec field's value, which `tomllib` reads back exactly."""
    if isinstance(value, str):
        # A JSON string is a TOML basic string, raw non-ASCII included (escaped, a character
        # outside the BMP would become a surrogate pair, which TOML refuses); TOML also wants
        # DEL escaped, which JSON leaves raw.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)  # int, or a finite float (specs refuse others) that reads back exactly


def artwork_toml(spec: ArtworkSpec, *, title: str | None = None, every_field: bool = False,
                 comment: str = "") -> str:
    """One `[[artwork]]` table of a seeds file that `load_seeds` reads back as `spec`: with
    `every_field`, each field, so that any command line reads back this very spec; otherwise
    those that differ from the defaults, so that the rest take the command line's values."""
    defaults = ArtworkSpec(seed=spec.seed).canonical()
    lines = ["[[artwork]]", f"title = {toml_value(spec.title if title is None else title)}",
             f"seed = {spec.seed}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in spec.canonical().items()
              if key != "seed" and value is not None and (every_field or value != defaults[key])]
    if comment:
        lines.append(f"# {comment}")
    return "\n".join(lines) + "\n"


# ---- the command that re-creates an artwork ------------------------------------------


def exact_number(value: float) -> str:
    """A number as the command line takes it back exactly: 8 for 8.0, repr otherwise."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_command(meta: dict) -> str:
    """The `attnart render` call that re-creates the artwork's full-resolution PNG."""
    return " ".join(render_args(meta))


def render_args(meta: dict) -> list[str]:
    """`render_command` as its words (a page wraps it between words only)."""
    parts = ["attnart", "render", str(meta["seed"]),
             "--resolution", str(meta["resolution"]), "--points", str(meta["points"]),
             "--iterations", str(meta["iterations"]),
             "--window=" + ",".join(exact_number(v) for v in meta["window"]),
             "--threshold", exact_number(meta["threshold"]), "--init", meta["init"],
             "--rng", meta["rng"], "--cuda-sms", str(meta["cuda_sms"]),
             "--cuda-threads-per-sm", str(meta["cuda_threads_per_sm"])]
    for key in ("wq", "wv"):
        if meta.get(key) is not None:
            parts.append(f"--{key}=" + ",".join(exact_number(v) for v in meta[key]))
    if meta.get("shade", "binary") != "binary":
        # the command carries a palette of your own whole, as --palette=#rrggbb,...
        parts += ["--shade", meta["shade"], "--palette=" + shading.palette_text(meta["palette"])]
    parts += ["-o", f"{meta['id']}.png"]
    return parts
