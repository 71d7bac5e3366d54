"""Near-duplicates: `curate.difference` (mean absolute difference of 32² thumbnails) against
scikit-image's SSIM (`skimage.metrics.structural_similarity`, as 1 - SSIM).

On the renders `benchmarks/score_sizes.py` caches (the same seeds at 256² and 1024², both init
modes), for the seeds `select` would consider (15-85 % white): the distance between each
seed's two renders (the same picture: a duplicate) and between every two seeds of a mode (as
good as never one), with the time one comparison takes; `select` compares each candidate with
every pick ranked before it.

    .venv/bin/python benchmarks/score_sizes.py --render-only --cache /tmp/renders
    .venv/bin/python benchmarks/near_duplicates.py --cache /tmp/renders
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

from generator.catalog import THUMBNAIL
from generator.curate import Criteria, difference
from generator.render import to_image


def dissimilarity(a: bytes, b: bytes) -> float:
    x, y = (np.frombuffer(t, np.uint8).reshape(THUMBNAIL, THUMBNAIL) for t in (a, b))
    return 1.0 - structural_similarity(x, y, data_range=255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/score-sizes"))
    args = parser.parse_args()
    thumbnails: dict[tuple[str, str], list[bytes]] = {}  # (seed, mode): [256², 1024²]
    for path in sorted(args.cache.glob("*-256.npy")):
        seed, mode = path.name[:-len("-256.npy")].split("-", 1)
        small, large = np.load(path), np.load(path.with_name(f"{seed}-{mode}-1024.npy"))
        if Criteria().min_white <= small.mean() <= Criteria().max_white:
            thumbnails[seed, mode] = [np.asarray(to_image(labels, THUMBNAIL)).tobytes()
                                      for labels in (small, large)]
    print(f"{len(thumbnails)} renders at 15-85 % white; select's threshold: "
          f"{Criteria().distinct} (mean absolute difference)")
    for name, measure in (("mean absolute difference", difference), ("1 - SSIM", dissimilarity)):
        for mode in ("shared", "per-point"):
            keys = [key for key in thumbnails if key[1] == mode]
            same = np.array([measure(*thumbnails[key]) for key in keys])
            other = np.array([measure(thumbnails[a][0], thumbnails[b][0])
                              for a, b in itertools.combinations(keys, 2)])
            print(f"{name}, {mode}: {len(keys)} seeds; same seed at 256² and 1024² at most "
                  f"{same.max():.3f}; other seeds' pairs 1st percentile "
                  f"{np.quantile(other, 0.01):.3f}, least {other.min():.3f}; other pairs "
                  f"closer than the farthest same-seed pair: {np.mean(other < same.max()):.2%}")
        a, b = thumbnails[keys[0]][0], thumbnails[keys[1]][0]
        start = time.perf_counter()
        for _ in range(1000):
            measure(a, b)
        print(f"{name}: {(time.perf_counter() - start):.3f} ms a comparison")


if __name__ == "__main__":
    main()
