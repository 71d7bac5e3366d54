"""Does a seed score the same at a sweep's preview size and at a gallery render's?

Renders SEEDS random seeds (drawn from a fixed generator, --draw, so every run with it uses the
same ones) in both init modes at 256² and 1024² on the CPU, keeps the labels in --cache
(renders are the slow part: about 3 s per 1024² per-point seed on 2 cores), and prints, per
mode, the distribution of |D(256²) - D(1024²)| of `fractal_dimension` as attnart scores its
renders (`landscape=True`: a crisp boundary counted on the 256² grid of the window), with the
regime each size was scored in, and the same counted at each render's own resolution (as a
drawing) for comparison. The README's figures are of two draws, 24 and 25:

    .venv/bin/python benchmarks/score_sizes.py --draw 24 --cache /tmp/renders
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generator import rng
from generator.render import render_labels
from generator.score import score
from generator.spec import ArtworkSpec

SIZES = (256, 1024)
MODES = ("shared", "per-point")


def labels(seed: int, init: str, size: int, cache: Path) -> np.ndarray:
    path = cache / f"{seed}-{init}-{size}.npy"
    if path.exists():
        return np.load(path)
    spec = ArtworkSpec(seed=seed, init=init, resolution=size)
    out = render_labels(spec, rng.draw(spec), device="cpu")
    np.save(path, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=150)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/score-sizes"))
    parser.add_argument("--draw", type=int, default=24,
                        help="seed of the generator that draws the seeds: another draws others")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    seeds = np.random.default_rng(args.draw).integers(1, 10_000_000, size=args.seeds).tolist()
    for init in MODES:
        for landscape in (True, False):
            rows = []
            for seed in seeds:
                images = [labels(seed, init, size, args.cache) for size in SIZES]
                if args.render_only:
                    continue
                scores = [score(image, landscape=landscape) for image in images]
                rows.append((seed, *[s.fractal_dimension for s in scores],
                             *[s.regime for s in scores], scores[0].white_fraction))
            if args.render_only:
                continue
            gaps = np.array([abs(r[1] - r[2]) for r in rows])
            same = np.array([r[3] == r[4] for r in rows])
            print(f"{init}, {'as a render' if landscape else 'each at its own resolution'}: "
                  f"{len(rows)} seeds, |D(256²) - D(1024²)| median {np.median(gaps):.3f}, "
                  f"90th percentile {np.quantile(gaps, 0.9):.3f}, largest {gaps.max():.3f}; "
                  + ", ".join(f"{np.sum(gaps <= t)} ({np.mean(gaps <= t):.0%}) within {t}"
                              for t in (0.02, 0.04, 0.08))
                  + f"; same regime at both sizes: {same.mean():.0%}")
            shaped = np.array([0.15 <= r[5] <= 0.85 for r in rows])  # what select considers
            print(f"   {shaped.sum()} seeds at 15-85 % white: largest {gaps[shaped].max():.3f}, "
                  f"{np.sum(gaps[shaped] <= 0.04)} within 0.04")
            for row in sorted(rows, key=lambda r: -abs(r[1] - r[2]))[:3]:
                print(f"   seed {row[0]}: {row[1]:.3f} ({row[3]}) vs {row[2]:.3f} ({row[4]}), "
                      f"{row[5]:.1%} white")


if __name__ == "__main__":
    main()
