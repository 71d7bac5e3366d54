"""How `attnart select` ranks the paper's five published artworks among random seeds.

The five (1679700, 5227590, 6306593, 6549664, 8012376; per-point, CUDA stream, T4 profile) are
the only artworks of this system a person chose. For each catalog made by

    attnart sweep --seeds 1679700,5227590,6306593,6549664,8012376,1-300 --preview 256 \\
        --catalog pool256.sqlite

(any pool and preview size; the README's study: 22 pools of 300 seeds, 7000-7299 to
250000-250299, at 256², 224², 192², 160², 128², 112², 96² and 64², catalogs named
pool<letter><size>.sqlite), this prints the rank of each of the five in `select`'s default
order and in the alternatives, the leave-one-out ranks of `select --like` (each of the five
ranked by likeness to the other four), a summary over the pools, and with --csv writes every
record's scores, which is how benchmarks/data/calibration-pools.csv was made:

    python benchmarks/calibration.py pool{F,G,H,I,J,K,L,M,S}256.sqlite poolR192.sqlite \\
        pool{N,O,T}128.sqlite poolU96.sqlite pool{P,Q,V}64.sqlite poolZ256.sqlite \\
        poolW224.sqlite poolX160.sqlite poolY112.sqlite poolA64.sqlite \\
        --csv benchmarks/data/calibration-pools.csv

With --fit it also searches the weights of curate.INTRICACY's scores (each of WEIGHTS) for
the most pools with all five in the top quarter, then the lowest mean worst rank, from the
scores alone (no near-duplicate removal), and cross-validates that choice: fitted on half the
pools, scored on the other half, against equal weights.

Given that CSV instead of catalogs, it re-runs the study from the stored scores alone: no
thumbnails there, so without near-duplicate removal (in the default order it moves the five by
a rank at most; the other orders pass over more), and with values rounded to 5 digits.
(The pools were rendered by the sweep's own renderer and `curate.measure`, the same two steps
`attnart sweep` runs per seed.)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import random
from pathlib import Path

import numpy as np

from generator import curate
from generator.catalog import THUMBNAIL, Record, open_catalog
from generator.curate import Criteria, select
from generator.score import FEATURES
from generator.spec import ArtworkSpec

PAPER = (1679700, 5227590, 6306593, 6549664, 8012376)
ORDERS = {
    "default (intricacy)": Criteria(),
    "default, no near-duplicate removal": Criteria(distinct=0),
    "Spehar: target 1.4 ± 0.15, white 5-95 % (the old default)":
        Criteria(target=1.4, band=0.15, min_white=0.05, max_white=0.95),
    "fractal dimension alone, descending": Criteria(target=2.0, band=2.0),
}


# Earlier default orders (curate.INTRICACY's form): the same four scores with equal weights,
# and the first release's display and raw fractal dimensions, entropy and lacunarity.
EARLIER = {
    "equal weights (entropy, -compression, speckle, solid)":
        (("grey_entropy", 1), ("compression", -1), ("speckle", 1), ("solid_black", 1)),
    "first release (D, raw D, entropy, lacunarity)":
        (("fractal_dimension", 1), ("raw_fractal_dimension", 1), ("grey_entropy", 1),
         ("lacunarity", 1)),
}


def ranks(records, criteria, favourites=None) -> list[int | None]:
    """1-based rank of each paper seed in the selection's order (None: not picked)."""
    order = select(records, dataclasses.replace(criteria, top=len(records)),
                   favourites=favourites).picks
    where = {r.spec.seed: i for i, r in enumerate(order, 1)}
    return [where.get(seed) for seed in PAPER]


def earlier_ranks(records, order) -> list[int | None]:
    """`ranks` in the default order with `order` for curate.INTRICACY."""
    default = curate.INTRICACY
    curate.INTRICACY = order
    try:
        return ranks(records, Criteria())
    finally:
        curate.INTRICACY = default


def pools(path: Path):
    """(name, preview size, records) of a catalog, or of each pool of a --csv file."""
    if path.suffix != ".csv":
        with open_catalog(path, readonly=True) as cat:
            yield path.name, cat.preview, cat.records()
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for name in dict.fromkeys(row["catalog"] for row in rows):
        records = []
        for i, row in enumerate(r for r in rows if r["catalog"] == name):
            scores = {f: float(row[f]) for f in FEATURES if row[f] != ""}
            scores["resolution"] = int(row["preview"])  # what D's weight is scaled by
            # noise, about 0.33 from any other: no near-duplicates
            thumbnail = np.random.default_rng(i).integers(0, 256, THUMBNAIL**2, np.uint8)
            records.append(Record(ArtworkSpec(seed=int(row["seed"])), [], [], scores,
                                  thumbnail.tobytes(), 0.0))
        yield name, int(row["preview"]), records


WEIGHTS = (0.5, 1.0, 1.5, 2.0)  # --fit's grid, per score
SPLITS = 40  # --fit's cross-validation: random halves of the pools


def worst_ranks(pool: list[Record], weights) -> float:
    """Worst rank of the five, as a fraction of the pool, in the intricacy order with these
    weights for curate.INTRICACY's scores: select's white bounds, no near-duplicate removal."""
    c = Criteria()
    shaped = [r for r in pool if c.min_white <= r.scores["white_fraction"] <= c.max_white]
    key = curate.intricacy_of([r.scores for r in shaped], tuple(
        (name, np.sign(sign) * weight) for (name, sign), weight in zip(curate.INTRICACY, weights)))
    order = sorted(range(len(shaped)), key=lambda i: (-key[i], shaped[i].spec.seed))
    where = {shaped[i].spec.seed: k for k, i in enumerate(order, 1)}
    return max(where.get(seed, len(pool) + 1) for seed in PAPER) / len(pool)


def fit(pools: list[list[Record]]) -> None:
    """Print the best weights on all pools, and their cross-validated gain over equal ones."""
    grid = list(itertools.product(WEIGHTS, repeat=len(curate.INTRICACY)))
    worst = np.array([[worst_ranks(pool, w) for pool in pools] for w in grid])  # (W, P)

    def best(columns) -> int:
        return min(range(len(grid)), key=lambda i: (-(worst[i, columns] <= 0.25).sum(),
                                                    worst[i, columns].mean()))

    equal = grid.index((1.0,) * len(curate.INTRICACY))
    everything = list(range(len(pools)))
    i = best(everything)
    names = ", ".join(name for name, _ in curate.INTRICACY)
    print(f"\n--fit: weights of {names}: {grid[i]}, top quarter in "
          f"{(worst[i] <= 0.25).sum()} of {len(pools)} pools, mean worst {worst[i].mean():.1%} "
          f"(equal weights: {(worst[equal] <= 0.25).sum()}, {worst[equal].mean():.1%})")
    gains, chosen = [], []
    for split in range(SPLITS):
        fitted = random.Random(split).sample(everything, len(pools) // 2)
        held = [p for p in everything if p not in fitted]
        i = best(fitted)
        chosen.append(grid[i])
        gains.append(((worst[i, held] <= 0.25).mean() - (worst[equal, held] <= 0.25).mean(),
                      worst[i, held].mean() - worst[equal, held].mean()))
    gains = np.array(gains)
    top = max(set(chosen), key=chosen.count)
    print(f"  fitted on half the pools, {SPLITS} times: {top} chosen {chosen.count(top)} times; "
          f"on the other half, against equal weights, pools in the top quarter "
          f"{gains[:, 0].mean():+.0%}, mean worst rank {gains[:, 1].mean():+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogs", type=Path, nargs="+")
    parser.add_argument("--csv", type=Path, help="write the scores of every record here")
    parser.add_argument("--fit", action="store_true", help="search the intricacy weights")
    args = parser.parse_args()
    rows, worst, every = [], {}, []
    for path in args.catalogs:
        for name, size, records in pools(path):
            pool_rows, pool_worst = study(name, size, records)
            every.append(records)
            rows += pool_rows
            for order, w in pool_worst.items():
                worst.setdefault(order, []).append(w)
    print(f"\nover {len(next(iter(worst.values())))} pools: worst of the five")
    for order, w in worst.items():
        w = np.array(w)
        print(f"  {order:58s} top quarter in {(w <= 0.25).sum()}, top tenth in "
              f"{(w <= 0.1).sum()}; mean {w.mean():.1%}, at most {w.max():.1%}")
    if args.fit:
        fit(every)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["catalog", "preview", "seed", *FEATURES])
            out.writerows(rows)


def study(pool: str, size: int, records) -> tuple[list[list], dict[str, float]]:
    """Print the five's ranks in `records`; return the records' CSV rows and the worst rank
    of the five in each order, as a fraction of the pool."""
    paper = {r.spec.seed: r for r in records if r.spec.seed in PAPER}
    print(f"{pool}: {len(records)} artworks at {size}², top quarter = rank "
          f"<= {len(records) / 4:.0f}; ranks of {', '.join(map(str, PAPER))}")
    orders = [(name, lambda c=criteria: ranks(records, c)) for name, criteria in ORDERS.items()]
    orders += [(name, lambda o=order: earlier_ranks(records, o))
               for name, order in EARLIER.items()]
    worst = {}
    for name, rank in orders:
        r = rank()
        worst[name] = max((x or len(records) + 1) for x in r) / len(records)
        print(f"  {name:58s} {r}  worst {worst[name]:.1%}")
    loo = [ranks(records, Criteria(), [paper[s] for s in PAPER if s != held])
           [PAPER.index(held)] for held in PAPER]
    print(f"  {'--like the other four (leave one out)':58s} {loo}")
    return [[pool, size, r.spec.seed]
            + [f"{r.scores[f]:.5g}" if f in r.scores else "" for f in FEATURES]
            for r in records], worst


if __name__ == "__main__":
    main()
