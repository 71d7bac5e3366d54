"""select's default order against the only human curation we know: the paper's five.

What this checks: the five published artworks (per-point, CUDA stream, T4 profile: the
defaults) are swept with 300 random seeds (2000-2299) at a 64² preview, by `sweep` as the
command line runs it, and each of the five ranks in the top quarter (<= 76 of 305) of
`select`'s default order. 64² keeps it to seconds; the README's study holds the same claim at
64² to 256² on seven pools (this one's worst rank there: 62, 20 %), and one of them misses by
3 ranks, so the claim is about pools of a few hundred, not every pool.
"""

import dataclasses

import pytest

from generator.catalog import open_catalog
from generator.curate import Criteria, select, sweep
from generator.spec import ArtworkSpec

PAPER = (1679700, 5227590, 6306593, 6549664, 8012376)
POOL = range(2000, 2300)


@pytest.mark.slow
def test_the_papers_five_rank_in_the_top_quarter(tmp_path):
    specs = [ArtworkSpec(seed=s) for s in (*PAPER, *POOL)]
    path = tmp_path / "pool.sqlite"
    sweep(specs, path, preview_size=64, device="cpu")
    with open_catalog(path, readonly=True) as cat:
        records = cat.records()
    order = select(records, dataclasses.replace(Criteria(), top=len(records))).picks
    ranks = {r.spec.seed: rank for rank, r in enumerate(order, 1)}
    assert all(ranks.get(seed, len(records)) <= len(records) / 4 for seed in PAPER), [
        ranks.get(seed) for seed in PAPER]
