"""Speed field -> colour: palettes and per-class histogram equalisation.

The speed field (`generator.dynamics`) is positive where a pixel synchronised (larger =
sooner) and <= 0 where it did not (more negative = further from it). Each class is
equalised on its own histogram (its values' mid-ranks), so every colour of its half of the
palette is used about as often and no class drowns the other: the not-synchronised pixels
take the palette's lower part [0, 1/2 - GAP/2], the synchronised ones its upper part
[1/2 + GAP/2, 1], and the gap between keeps the boundary visible. With a linear palette
synchronised pixels are the bright ones, as they are white in the binary look; a diverging
palette puts its neutral middle at the boundary.

An `Equaliser` is fitted once and then applied: an animation fits it on keyframes so colours
do not flicker from frame to frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.errors import SpecError

SHADES = ("binary", "speed")
# Perceptually uniform linear maps and diverging ones (last three) from colorcet.
PALETTES = ("fire", "bmy", "kbc", "bgy", "gouldian", "rainbow4", "coolwarm", "bkr", "cwr")
DEFAULT_PALETTE = "fire"
GAP = 0.08  # share of the palette left out between the two classes
KNOTS = 2048  # points of each class's equalisation curve
CHUNK = 1 << 20  # pixels coloured at a time
COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
INSTALL = "pip install 'attention-art[colour]'"


def check_palette(palette) -> str | tuple[str, ...]:
    """A palette as a spec holds it: a name of PALETTES, or 2+ '#rrggbb' colours."""
    if isinstance(palette, str):
        if palette not in PALETTES:
            raise SpecError(f"unknown palette {palette!r}; choose one of {', '.join(PALETTES)} "
                            "or give your own colours with --palette-file")
        return palette
    if not isinstance(palette, (list, tuple)):
        raise SpecError(f"palette must be a name or a list of '#rrggbb' colours, got {palette!r}")
    return parse_colours(palette, "palette")


def palette_text(palette) -> str:
    """A spec's palette as one token: its name, or its colours '#rrggbb,...'; '' for none."""
    return "" if palette is None else palette if isinstance(palette, str) else ",".join(palette)


def parse_colours(tokens, source: str) -> tuple[str, ...]:
    colours = []
    for token in tokens:
        match = COLOUR.fullmatch(token.strip()) if isinstance(token, str) else None
        if match is None:
            raise SpecError(f"{source}: {token!r} is not a colour; write each as #rrggbb")
        colours.append("#" + match.group(1).lower())
    if len(colours) < 2:
        raise SpecError(f"{source}: a palette needs at least 2 colours, got {len(colours)}")
    return tuple(colours)


def read_palette_file(path: Path) -> tuple[str, ...]:
    """The colours of a palette file: '#rrggbb' values separated by spaces, commas or lines;
    '//' or '%' starts a comment line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"palette file {path} cannot be read: {e}") from None
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("//", "%"))]
    tokens = [t for t in re.split(r"[\s,]+", " ".join(lines)) if t]
    return parse_colours(tokens, f"palette file {path}")


def rgb(palette) -> np.ndarray:
    """The palette's colours as (M, 3) uint8 (given so, returned as it is). Named palettes
    need colorcet."""
    if isinstance(palette, np.ndarray):
        return palette
    if isinstance(palette, str):
        try:
            import colorcet
        except ImportError:
            raise SpecError(f"the named palettes come from colorcet: {INSTALL} (or give "
                            "your own colours with --palette-file)") from None
        palette = colorcet.palette[palette]
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in palette], dtype=np.uint8)


def _knots(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct values, their mid-rank in 0..1) of a class, at most KNOTS of them."""
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        return None
    distinct, first = np.unique(values, return_index=True)
    counts = np.diff(np.append(first, values.size))
    ranks = first + counts / 2
    if distinct.size > KNOTS:
        keep = np.linspace(0, distinct.size - 1, KNOTS).round().astype(np.int64)
        distinct, ranks = distinct[keep], ranks[keep]
    span = ranks[-1] - ranks[0]
    return distinct, (ranks - ranks[0]) / span if span > 0 else np.ones_like(ranks)


@dataclass(frozen=True)
class Equaliser:
    """Per-class histogram equalisation of speed fields, fitted on some, applied to any."""

    unsynced: tuple[np.ndarray, np.ndarray] | None
    synced: tuple[np.ndarray, np.ndarray] | None

    @classmethod
    def fit(cls, *fields: np.ndarray) -> Equaliser:
        values = np.concatenate([np.asarray(f, dtype=np.float32).ravel() for f in fields])
        return cls(_knots(values[~(values > 0)]), _knots(values[values > 0]))

    def positions(self, field: np.ndarray) -> np.ndarray:
        """Where each pixel falls on the palette, 0..1, monotone in the field; the classes
        are apart by GAP. NaN (a state that became NaN) goes to 0."""
        field = np.asarray(field, dtype=np.float32)
        half = 0.5 - GAP / 2
        out = np.zeros(field.shape)
        for mask, knots, base in ((field > 0, self.synced, 1 - half),
                                  (field <= 0, self.unsynced, 0.0)):
            within = np.interp(field[mask], *knots) if knots is not None else 0.5
            out[mask] = base + half * within
        return out


def colourise(field: np.ndarray, palette, equaliser: Equaliser | None = None) -> np.ndarray:
    """The field's pixels coloured: same layout plus a last axis of 3, uint8. `equaliser`
    defaults to one fitted on this field. Works CHUNK pixels at a time, so that a deep-zoom
    render (8192²) needs its image's memory and little more."""
    colours = rgb(palette)
    field = np.asarray(field, dtype=np.float32)
    equaliser = equaliser or Equaliser.fit(field)
    out = np.empty(field.shape + (3,), dtype=np.uint8)
    flat, dest = field.reshape(-1), out.reshape(-1, 3)
    for start in range(0, flat.size, CHUNK):
        positions = equaliser.positions(flat[start:start + CHUNK])
        dest[start:start + CHUNK] = colours[np.rint(positions * (len(colours) - 1)).astype(
            np.int64)]
    return out


def labels_of(image: np.ndarray, palette) -> np.ndarray:
    """The labels a full-resolution colour render shows, (H, W, 3) uint8 -> (H, W) bool: a
    pixel is synchronised when its colour is one of the palette's upper part (past the gap)
    and none of its lower part. Raises SpecError for a colour the palette does not have."""
    colours = rgb(palette).astype(np.int64)
    keys = colours @ np.array([65536, 256, 1])
    upper = np.arange(len(colours)) / (len(colours) - 1) > 0.5
    synced = np.setdiff1d(keys[upper], keys[~upper])
    pixels = image.astype(np.int64) @ np.array([65536, 256, 1])
    if not np.isin(pixels, keys).all():
        raise SpecError("the image has colours its palette does not: it is not a full-size "
                        "render of this palette")
    return np.isin(pixels, synced)
