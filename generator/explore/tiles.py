"""The explorer's tiles: which (a, b) each pixel samples, and its labels as `render` makes them.

The plane is cut as a web map is. At zoom z a pixel is h = 2^-(4 + z) wide, so zoom 0 shows
[-8, 8]² in one 256² tile; pixel column px samples b = -8 + (px + 0.5) h and pixel row py
(downwards) samples a = 8 - (py + 0.5) h, the published orientation. Every such value is a
binary fraction, and so is h, so `np.linspace` over any square of pixels gives exactly these
values: a tile, or any view of whole pixels, *is* the `attnart render` of its own window
(`pixel_window`) at its own size, sample for sample. Past zoom 16 the pixels would be finer
than float32 can tell a and b apart, so that is the deepest zoom.

X(0) in per-point mode: at zoom z the tiles are pieces of one virtual render, the whole
[-8, 8]² at N = 256·2^z pixels (`world_spec`). Pixel (px, py) is its grid point
g = (N - 1 - py) + N·px (Appendix A's flattening: a fastest, from its minimum), and gets that
grid point's X(0), drawn alone from the counter-based stream. So a per-point tile equals the
same pixels of `attnart render --window <world window> --resolution N` bit for bit; a render
of a smaller window starts the stream at its own first pixel and shows other speckle with the
same texture. N stays within what `render` accepts (zoom 7 at most, 3 on the slower,
sequential CPU stream), and tiles stay inside [-8, 8]².
"""

from __future__ import annotations

import dataclasses
import math

from generator import rng
from generator.render import render_field, render_labels
from generator.spec import MAX_RESOLUTION, ArtworkSpec

TILE = 256  # pixels a side of every tile
MAX_ZOOM = 16  # h = 2^-20: one float32 step of a and b near 8
WORLD_TILES_AROUND = 1  # shared mode: tiles reach one world width beyond [-8, 8]² (zoom <= 14)


def spacing(z: int) -> float:
    """Width of one pixel at zoom z, in a and b."""
    return 2.0 ** (-4 - z)


def pixel_window(z: int, px: int, py: int, size: int) -> tuple[float, float, float, float]:
    """(amin, amax, bmin, bmax) of the size² pixels whose top-left one is (px, py) at zoom z:
    their samples are exactly `np.linspace` over this window at resolution `size`."""
    h = spacing(z)
    bmin, amax = -8.0 + (px + 0.5) * h, 8.0 - (py + 0.5) * h
    return (amax - (size - 1) * h, amax, bmin, bmin + (size - 1) * h)


def world_size(z: int) -> int:
    """Pixels a side of [-8, 8]² at zoom z."""
    return TILE << z


def world_spec(spec: ArtworkSpec, z: int) -> ArtworkSpec:
    """The virtual render whose pixels the tiles of zoom z are (see the module's notes)."""
    return dataclasses.replace(spec, window=pixel_window(z, 0, 0, world_size(z)),
                               resolution=world_size(z))


def max_zoom(spec: ArtworkSpec) -> int:
    """Deepest zoom for `spec`'s init mode and stream."""
    if spec.init == "shared":
        return MAX_ZOOM
    if spec.rng == "cpu":  # mt19937 reaches a far position only by running there
        return 3
    return int(math.log2(MAX_RESOLUTION // TILE))


def tile_range(spec: ArtworkSpec, z: int) -> range:
    """The tile indices x (and y) that exist at zoom z."""
    count = 1 << z
    if spec.init != "shared":
        return range(count)
    # A pixel samples an odd multiple of h / 2 = 2^-(5 + z), which float32 holds where
    # |a| < 2^(19 - z); further out neighbouring pixels would sample the same float32 value.
    reach = min(8 + 16 * WORLD_TILES_AROUND, 2 ** (19 - z))  # |a| and |b| tiles reach to
    around = (reach - 8) * count // 16
    return range(-around, count + around)


def tile_spec(spec: ArtworkSpec, z: int, x: int, y: int) -> ArtworkSpec:
    """`spec` over tile (z, x, y)'s window at 256²: what `attnart render` would render."""
    return dataclasses.replace(spec, window=pixel_window(z, TILE * x, TILE * y, TILE),
                               resolution=TILE)


def tile_draws(spec: ArtworkSpec, z: int, x: int, y: int, world: rng.Draws | None = None
               ) -> rng.Draws:
    """W_Q, W_V and X(0) of tile (z, x, y). Shared: the tile's own draws (one X(0) for all).
    Per-point: each grid point's X(0) of the zoom's virtual render; `world` is
    `rng.draw(world_spec(spec, z))`, reusable across the zoom's tiles."""
    if spec.init == "shared":
        return rng.draw(spec)
    world = world or rng.draw(world_spec(spec, z))
    n = world_size(z)
    a_first = n - TILE * (y + 1)  # the tile's lowest a, as a world grid index

    def initial(start: int, stop: int, device):
        # Tile point t is (a index t % 256, b index t // 256): one world slice per b column.
        first, last = start // TILE, -(-stop // TILE)
        starts = [a_first + n * (TILE * x + column) for column in range(first, last)]
        return world.slices(starts, TILE, device)[start - first * TILE:stop - first * TILE]

    return rng.Draws(world.wq, world.wv, initial)


def tile_labels(spec: ArtworkSpec, z: int, x: int, y: int, *, device: str,
                backend: str = "auto", world: rng.Draws | None = None):
    """Labels of tile (z, x, y), (256, 256) bool as `render_labels` returns them."""
    tile = tile_spec(spec, z, x, y)
    return render_labels(tile, tile_draws(tile, z, x, y, world), device=device, backend=backend)


def tile_field(spec: ArtworkSpec, z: int, x: int, y: int, *, device: str,
               backend: str = "auto", world: rng.Draws | None = None):
    """Labels and speed field of tile (z, x, y), as `render_field` returns them."""
    tile = tile_spec(spec, z, x, y)
    return render_field(tile, tile_draws(tile, z, x, y, world), device=device, backend=backend)
