"""Does the fractal dimension of issue 24's estimator earn a weight in `select`'s default order?

Sweeps fresh pools (the paper's five per-point artworks among --pool random seeds each, at
--preview, by `curate.sweep` as `attnart sweep` runs it; catalogs kept in --cache), then ranks
the five in the intricacy order (curate.INTRICACY, select's white bounds, no near-duplicate
removal) with the fractal dimension added at each weight of WEIGHTS, counted up or down, and
cross-validates the choice: the weight with the best mean worst rank on half the pools,
scored on the other half, against no weight. Prints the worst rank of the five per pool and
weight, and the cross-validated gain.

    .venv/bin/python benchmarks/calibration_d.py --pools 8 --preview 128
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generator import curate
from generator.catalog import open_catalog
from generator.curate import Criteria, sweep
from generator.spec import ArtworkSpec

PAPER = (1679700, 5227590, 6306593, 6549664, 8012376)
WEIGHTS = (-0.5, 0.0, 0.25, 0.5, 0.75, 1.0)  # of fractal_dimension, beside INTRICACY's
SPLITS = 40


def worst(records, weight: float) -> float:
    c = Criteria()
    shaped = [r for r in records if c.min_white <= r.scores["white_fraction"] <= c.max_white]
    order = curate.INTRICACY + ((("fractal_dimension", weight),) if weight else ())
    key = curate.intricacy_of([r.scores for r in shaped], order)
    ranked = sorted(range(len(shaped)), key=lambda i: (-key[i], shaped[i].spec.seed))
    where = {shaped[i].spec.seed: k for k, i in enumerate(ranked, 1)}
    return max(where.get(seed, len(records) + 1) for seed in PAPER) / len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=8)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--preview", type=int, default=128)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/calibration-d"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    table = []
    for k in range(args.pools):
        first = 300000 + 10000 * k
        path = args.cache / f"pool{first}-{args.preview}.sqlite"
        seeds = (*PAPER, *range(first, first + args.pool))
        sweep([ArtworkSpec(seed=s) for s in seeds], path, preview_size=args.preview,
              device="cpu")
        with open_catalog(path, readonly=True) as cat:
            records = cat.records()
        table.append([worst(records, w) for w in WEIGHTS])
        print(f"seeds {first}-{first + args.pool - 1}: worst rank of the five, by weight of D: "
              + ", ".join(f"{w:+g} {x:.1%}" for w, x in zip(WEIGHTS, table[-1])), flush=True)
    table = np.array(table)  # (pools, weights)
    print("mean worst rank by weight of D: " + ", ".join(
        f"{w:+g} {x:.1%}" for w, x in zip(WEIGHTS, table.mean(axis=0))))
    rng = np.random.default_rng(0)
    none = WEIGHTS.index(0.0)
    gains = []
    for _ in range(SPLITS):
        half = rng.permutation(len(table))
        fit, held = half[: len(table) // 2], half[len(table) // 2:]
        chosen = int(np.argmin(table[fit].mean(axis=0)))
        gains.append(table[held, none].mean() - table[held, chosen].mean())
    print(f"cross-validated over {SPLITS} random halves: the fitted weight's mean worst rank on "
          f"the held-out pools is {np.mean(gains):+.1%} better than no weight (positive: D "
          "earns its place)")


if __name__ == "__main__":
    main()
