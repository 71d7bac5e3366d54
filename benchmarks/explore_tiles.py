"""The explorer's tiles: pipeline time against the kernel bound, measured in one run.

    .venv/bin/python benchmarks/explore_tiles.py [--seed 1679700] [--iterations 100]
        [--map 1000x800] [--repeat 3]

For each init mode: the kernel alone on a tile's prepared inputs (the bound), then the whole
tile as the server makes it (X(0) of its grid points, (a, b), kernel, PNG), over the same
tiles, each the median of --repeat runs: the tiles of the page's first view, which asks for
the coarse layer (the zoom above, shown 2x) before the fine one, and 16 deep in the boundary.
The server renders one tile at a time, so a view's time is the sum of its tiles'. Ratios are
what carries between machines; seconds depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import statistics
import time

import numpy as np
from PIL import Image

from generator import kernels, rng
from generator.explore import tiles
from generator.render import chunks, matrices, to_image
from generator.spec import ArtworkSpec

CPU = "cpu"


def view_tiles(spec: ArtworkSpec, width: int, height: int) -> tuple[int, list, list]:
    """(zoom, coarse tiles, fine tiles) the page asks for on opening: [-8, 8]² fitted."""
    per_point = dataclasses.replace(spec, init="per-point")
    z = max(z for z in range(tiles.MAX_ZOOM + 1)
            if tiles.world_size(z) <= min(width, height)) if min(width, height) >= 256 else 0

    def cover(zoom: int, w: int, h: int) -> list:
        c = tiles.world_size(zoom) / 2
        xs = range(int((c - w / 2) // 256), int((c + w / 2 - 1) // 256) + 1)
        ys = range(int((c - h / 2) // 256), int((c + h / 2 - 1) // 256) + 1)
        ok = tiles.tile_range(spec if zoom == z else per_point, zoom)  # coarse: [-8, 8]²
        return [(zoom, x, y) for y in ys for x in xs if x in ok and y in ok]

    coarse = cover(z - 1, width // 2, height // 2) if z >= 1 else []
    return z, coarse, cover(z, width, height)


def kernel_time(spec: ArtworkSpec, z: int, x: int, y: int, module, world) -> float:
    tile = tiles.tile_spec(spec, z, x, y)
    draws = tiles.tile_draws(tile, z, x, y, world)
    wq, wv = matrices(draws, CPU)
    parts = list(chunks(tile, draws, CPU))
    ab = np.concatenate([part[3] for part in parts])
    shared = parts[0][2].shape[0] == 1  # one X(0) for every grid point
    x0 = parts[0][2] if shared else np.concatenate([part[2] for part in parts])
    start = time.perf_counter()
    module.landscape(wq, wv, x0, ab, tile.iterations, tile.threshold)
    return time.perf_counter() - start


def pipeline_time(spec: ArtworkSpec, z: int, x: int, y: int, world) -> float:
    start = time.perf_counter()
    labels = tiles.tile_labels(spec, z, x, y, device=CPU, world=world)
    to_image(labels).convert("1", dither=Image.Dither.NONE).save(io.BytesIO(), format="PNG")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1679700)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--map", default="1000x800", help="the page's map, WxH pixels")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.map.split("x"))
    module = kernels.choose("auto", CPU)
    print(f"seed {args.seed}, T={args.iterations}, backend {module.__name__.rsplit('.', 1)[1]}, "
          f"{kernels.threads()} threads, map {width}x{height}")
    print(f"{'init':<10} {'what':<26} {'tiles':>5} {'kernel s':>9} {'tiles s':>8} {'ratio':>6}"
          f" {'a tile: median':>15} {'max':>6}")
    for init in ("shared", "per-point"):
        spec = ArtworkSpec(seed=args.seed, init=init, iterations=args.iterations)
        worlds = {}

        def world(z):
            if init == "shared":
                return None
            if z not in worlds:
                worlds[z] = rng.draw(tiles.world_spec(spec, z))
            return worlds[z]

        z, coarse, fine = view_tiles(spec, width, height)
        # 4 x 4 tiles on the boundary at zoom 5 (each 1/32 of the plane wide): a tile's time
        # depends on its pixels, those that never synchronise running all T steps.
        deep = [(5, x, y) for y in range(16, 20) for x in range(12, 16)]
        for name, group in ((f"first view, coarse (z={z - 1})", coarse),
                            (f"first view, fine (z={z})", fine), ("boundary view (z=5)", deep)):
            if not group:
                continue
            kernel = [statistics.median(kernel_time(spec, *t, module, world(t[0]))
                                        for _ in range(args.repeat)) for t in group]
            tile = [statistics.median(pipeline_time(spec, *t, world(t[0]))
                                      for _ in range(args.repeat)) for t in group]
            k, p = sum(kernel), sum(tile)
            print(f"{init:<10} {name:<26} {len(group):>5} {k:9.3f} {p:8.3f} {p / k:6.2f} "
                  f"{statistics.median(tile):15.3f} {max(tile):6.3f}")


if __name__ == "__main__":
    main()
