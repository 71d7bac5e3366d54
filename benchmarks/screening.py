"""How often `attnart select`'s top picks would have survived a screening rung.

Sweeps the same seeds at each rung's resolution and at the final preview, with no cut (each
into its own catalog in FOLDER, resumable: run it again to go on), then, for each rung and
kept fraction, counts how many of the final top N (select's default order and bounds on the
final previews) are among the rung's best fraction by intricacy, as `sweep --screen` keeps
them; and for a two-rung chain, how many survive both cuts.

    python benchmarks/screening.py --seeds 1-2000 --rungs 48,96 --preview 256 study/

With --report, sweeps nothing and reports on the seeds every catalog in FOLDER holds (a
study stopped partway).

The README's figures come from this run (default per-point seeds, T = 100).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from generator.catalog import open_catalog
from generator.curate import Criteria, intricacy, parse_seeds, select, sweep
from generator.spec import ArtworkSpec

FRACTIONS = (0.05, 0.1, 0.2, 0.25, 0.5)


def _best(records, fraction: float) -> set[str]:
    ranks = intricacy(records)
    keep = max(1, int(np.ceil(fraction * len(records))))
    return {records[k].spec.id for k in np.argsort(-ranks, kind="stable")[:keep]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seeds", default="1-2000")
    parser.add_argument("--rungs", default="48,96")
    parser.add_argument("--preview", type=int, default=256)
    parser.add_argument("--top", type=int, default=24)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    seeds = parse_seeds(args.seeds)
    rungs = [int(r) for r in args.rungs.split(",")]
    records = {}
    for size in [*rungs, args.preview]:
        path = args.folder / f"c{size}.sqlite"
        result = None if args.report else sweep(
            (ArtworkSpec(seed=s) for s in seeds), path, preview_size=size, total=len(seeds),
            progress=True)
        if result:
            print(f"{size}²: {result.rendered} rendered in {result.seconds:.0f} s "
                  f"({result.rendered / max(result.seconds, 1e-9) * 60:.0f}/min), "
                  f"{result.skipped} there already")
        with open_catalog(path, readonly=True) as cat:
            records[size] = {r.spec.seed: r for r in cat.records()}
    held = set(seeds).intersection(*records.values())
    records = {size: [r for seed, r in rs.items() if seed in held] for size, rs in records.items()}
    top = {r.spec.id for r in select(records[args.preview], Criteria(top=args.top)).picks}
    print(f"\n{len(held)} seeds; survivors of the final top {len(top)} "
          f"(select's default order on {args.preview}² previews):")
    print("rung   " + "  ".join(f"keep {f:>4.0%}" for f in FRACTIONS))
    for size in rungs:
        print(f"{size:>3}²   " + "  ".join(
            f"{len(top & _best(records[size], f)):>9}" for f in FRACTIONS))
    if len(rungs) == 2:
        first, second = rungs
        for f1, f2 in ((0.2, 0.25), (0.1, 0.5), (0.25, 0.2)):
            kept = _best(records[first], f1)
            survivors = _best([r for r in records[second] if r.spec.id in kept], f2)
            print(f"--screen {first}:{f1:.0%} --screen {second}:{f2:.0%} (previews "
                  f"{f1 * f2:.0%} at {args.preview}²): {len(top & survivors)} of {len(top)}")


if __name__ == "__main__":
    main()
