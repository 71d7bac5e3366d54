"""`select --learn` against `select --like` on the stored pools: where the paper's fifth ranks.

For each pool of benchmarks/data/calibration-pools.csv (the paper's five among 300 random
seeds; scores as stored there, by the present estimator) and each of the five left
out in turn: the other four are liked and 20 random seeds of the pool (a fixed generator)
disliked; the left-out one is ranked among the pool's other random seeds (280) by the learned
taste (`curate.learn_taste`, as `select --learn` ranks) and by likeness to the four (as
`select --like` does). Prints the distribution of its rank as a share of the pool.

    .venv/bin/python benchmarks/learn_taste.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from generator.catalog import Record
from generator.curate import learn_taste, likeness
from generator.score import FEATURES
from generator.spec import ArtworkSpec

PAPER = (1679700, 5227590, 6306593, 6549664, 8012376)
DATA = Path(__file__).parent / "data" / "calibration-pools.csv"


def pools() -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {}
    with open(DATA, newline="") as f:
        for row in csv.DictReader(f):
            scores = {name: float(row[name]) for name in FEATURES}
            found.setdefault(row["catalog"], []).append(
                Record(ArtworkSpec(seed=int(row["seed"])), [], [], scores, b"", 0.0))
    return found


def main() -> None:
    rng = np.random.default_rng(24)
    shares = {"--learn": [], "--like": []}
    for records in pools().values():
        paper = {r.spec.seed: r for r in records if r.spec.seed in PAPER}
        randoms = [r for r in records if r.spec.seed not in PAPER]
        for out in paper.values():
            four = [r for r in paper.values() if r is not out]
            disliked = [randoms[i] for i in rng.choice(len(randoms), 20, replace=False)]
            rest = [r for r in randoms if r not in disliked]
            ranked = [out, *rest]
            taste = learn_taste([*ranked, *four, *disliked], {r.spec.id for r in four},
                                {r.spec.id for r in disliked})[:len(ranked)]
            distance = likeness(ranked, [r.scores for r in four])
            for name, key in (("--learn", -taste), ("--like", distance)):
                shares[name].append((key < key[0]).sum() / len(ranked))  # ahead of it
    for name, values in shares.items():
        values = np.array(values)
        print(f"{name}: {len(values)} left-out ranks over {len(pools())} pools; share of the "
              f"pool ahead of the fifth: median {np.median(values):.1%}, 90th percentile "
              f"{np.quantile(values, 0.9):.1%}; in the top 5 % {np.mean(values < 0.05):.0%}, "
              f"top 10 % {np.mean(values < 0.1):.0%}")


if __name__ == "__main__":
    main()
