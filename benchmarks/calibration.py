"""How `attnart select` ranks the paper's five published artworks among random seeds.

The five (1679700, 5227590, 6306593, 6549664, 8012376; per-point, CUDA stream, T4 profile) are
the only artworks of this system a person chose. For each catalog made by

    attnart sweep --seeds 1679700,5227590,6306593,6549664,8012376,1-300 --preview 256 \\
        --catalog pool256.sqlite

(any pool and preview size; the README's study: 17 pools of 300 seeds, 7000-7299 to
170000-170299, at 256², 192², 128², 96² and 64², catalogs named pool<letter><size>.sqlite),
this prints the rank of each of the five in `select`'s
default order and in the alternatives, the leave-one-out ranks of `select --like` (each of the
five ranked by likeness to the other four), and with --csv writes every record's scores, which
is how benchmarks/data/calibration-pools.csv was made:

    python benchmarks/calibration.py pool{F,G,H,I,J,K,L,M,S}256.sqlite poolR192.sqlite \
        pool{N,O,T}128.sqlite poolU96.sqlite pool{P,Q,V}64.sqlite \
        --csv benchmarks/data/calibration-pools.csv

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


# The default order of the release before: the display and raw fractal dimensions, grey-level
# entropy and lacunarity, each counted up.
PREVIOUS = (("fractal_dimension", 1), ("raw_fractal_dimension", 1), ("grey_entropy", 1),
            ("lacunarity", 1))


def ranks(records, criteria, favourites=None) -> list[int | None]:
    """1-based rank of each paper seed in the selection's order (None: not picked)."""
    order = select(records, dataclasses.replace(criteria, top=len(records)),
                   favourites=favourites).picks
    where = {r.spec.seed: i for i, r in enumerate(order, 1)}
    return [where.get(seed) for seed in PAPER]


def previous_ranks(records) -> list[int | None]:
    """`ranks` in the default order of the release before."""
    default = curate.INTRICACY
    curate.INTRICACY = PREVIOUS
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
            # noise, about 0.33 from any other: no near-duplicates
            thumbnail = np.random.default_rng(i).integers(0, 256, THUMBNAIL**2, np.uint8)
            records.append(Record(ArtworkSpec(seed=int(row["seed"])), [], [], scores,
                                  thumbnail.tobytes(), 0.0))
        yield name, int(row["preview"]), records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogs", type=Path, nargs="+")
    parser.add_argument("--csv", type=Path, help="write the scores of every record here")
    args = parser.parse_args()
    rows = []
    for path in args.catalogs:
        for name, size, records in pools(path):
            rows += study(name, size, records)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["catalog", "preview", "seed", *FEATURES])
            out.writerows(rows)


def study(pool: str, size: int, records) -> list[list]:
    """Print the five's ranks in `records`; return the records' CSV rows."""
    paper = {r.spec.seed: r for r in records if r.spec.seed in PAPER}
    print(f"{pool}: {len(records)} artworks at {size}², top quarter = rank "
          f"<= {len(records) / 4:.0f}; ranks of {', '.join(map(str, PAPER))}")
    orders = [(name, lambda c=criteria: ranks(records, c)) for name, criteria in ORDERS.items()]
    orders.append(("previous default (D, raw D, entropy, lacunarity)",
                   lambda: previous_ranks(records)))
    for name, rank in orders:
        r = rank()
        worst = max((x or len(records) + 1) for x in r)
        print(f"  {name:58s} {r}  worst {worst / len(records):.1%}")
    loo = [ranks(records, Criteria(), [paper[s] for s in PAPER if s != held])
           [PAPER.index(held)] for held in PAPER]
    print(f"  {'--like the other four (leave one out)':58s} {loo}")
    return [[pool, size, r.spec.seed]
            + [f"{r.scores[f]:.5g}" if f in r.scores else "" for f in FEATURES]
            for r in records]


if __name__ == "__main__":
    main()
