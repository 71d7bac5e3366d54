"""Sweeps over seed lists into a catalog, and the selection of the best artworks from it.

A sweep renders each artwork at a small preview resolution, scores it and records it (see
`generator.catalog`); `preview` is that whole step for one seed, a plain function. A selection
leaves out images that are mostly one colour and near-duplicates, and ranks the rest by one of
three orders: by default *intricacy*, the mean of each artwork's percentile ranks in the
catalog of INTRICACY's scores, calibrated on the only human curation of this art we know (the
paper's five published seeds rank in the top quarter of a few hundred random ones; README and
`benchmarks/calibration.py` give the figures); by closeness of the fractal dimension to a
target (Spehar et al. 2003 found D ≈ 1.3-1.5 preferred on average, Spehar et al. 2016 found
preference types, so one target is too blunt for a default); or by likeness to favourites
(distance to the nearest one in the standardised scores).

A preview of an `init = "shared"` artwork is its full-resolution landscape sampled more
coarsely; a `per-point` one draws a fresh X(0) per grid point, so it is another sample of the
same convergence probabilities, speckled where they are neither 0 nor 1. The headline score of
a final render is measured on it shown at 512 px, about a third of its 1500 px, which
averages the speckle away; the preview is scored halved, which does the same. Raw 256²
previews of per-point seeds 1-8 scored D = 1.58-1.74, noise; halved they scored within 0.06
of 768² renders shown at 256 px (1.19-1.66). For shared seeds 1-5, halved 256² previews
scored within 0.06 of 1500² renders shown at 512 px. (Figures of the first box-counting
estimator; the reasoning holds for the present one.)
"""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from generator import kernels
from generator.catalog import IMAGE, THUMBNAIL, Record, open_catalog
from generator.errors import OutputError, SpecError
from generator.files import write_files
from generator.spec import MAX_RESOLUTION, SEED_MAX, ArtworkSpec
from generator.spec import artwork_toml as spec_toml

if TYPE_CHECKING:
    import torch

# torch (and with it rng, render, score) is imported where it is used: loading it takes
# seconds, and the command line's parser reads this module's defaults and help.

MAX_SEEDS = 1_000_000  # per sweep: past this, the seed list alone outweighs the work's sense
SEEDS_HELP = ("seeds: N, A-B (inclusive) or a comma list of those, e.g. 1-5000 or 1,5,9-12; "
              "@FILE reads such items from FILE, separated by commas, spaces or lines, "
              "'#' starting a comment")
_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def parse_seeds(text: str) -> list[int]:
    """The seeds `text` names (see SEEDS_HELP), in order, each once."""
    source = "--seeds"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8-sig")  # a BOM is not a seed
        except OSError as e:
            raise SpecError(f"seed file {source} cannot be read: {e.strerror}") from None
        except UnicodeDecodeError:
            raise SpecError(f"seed file {source} is not UTF-8 text; is it the right file?"
                            ) from None
        text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    items = [item for item in re.split(r"[,\s]+", text) if item]
    if not items:
        raise SpecError(f"{source} names no seeds; give e.g. 1-5000 or 1,5,9")
    seeds: dict[int, None] = {}  # insertion-ordered set
    for item in items:
        match = _ITEM.fullmatch(item)
        if not match:
            raise SpecError(f"{source}: {item!r} is neither a seed N nor a range A-B")
        low = int(match[1])
        high = low if match[2] is None else int(match[2])
        if high > SEED_MAX:
            raise SpecError(f"{source}: {item!r} goes past the largest seed, {SEED_MAX}")
        if low > high:
            raise SpecError(f"{source}: range {item!r} runs backwards; write it as {high}-{low}")
        if high - low + len(seeds) >= MAX_SEEDS:
            raise SpecError(f"{source} names over {MAX_SEEDS:,} seeds; split the sweep")
        seeds.update(dict.fromkeys(range(low, high + 1)))
    return list(seeds)


def measure(labels: np.ndarray) -> tuple[dict, bytes, bytes]:
    """Scores, near-duplicate thumbnail and stored image (PNG) of preview `labels`."""
    from generator.render import to_image
    from generator.score import score

    side = labels.shape[0] // 2  # see the module docstring
    scores = score(labels, display=side).as_dict()
    thumbnail = np.asarray(to_image(labels, THUMBNAIL)).tobytes()
    buf = io.BytesIO()
    to_image(labels, min(side, IMAGE)).save(buf, format="PNG", optimize=True)
    return scores, thumbnail, buf.getvalue()


def preview(spec: ArtworkSpec, resolution: int, *, device: torch.device,
            backend: str = "auto") -> Record:
    """Render `spec` at `resolution` and score it: the catalog record of one artwork."""
    from generator import rng
    from generator.render import describe, render_labels

    start = time.perf_counter()
    small = dataclasses.replace(spec, resolution=resolution)
    draws = rng.draw(small)
    labels = render_labels(small, draws, device=device, backend=backend)  # (R, R) bool
    meta = describe(spec, draws)  # W_Q, W_V come first from the stream: any resolution's
    scores, thumbnail, image = measure(labels)
    return Record(spec, meta["W_Q"], meta["W_V"], scores, thumbnail,
                  time.perf_counter() - start, image)


def default_workers(device: torch.device) -> int:
    """Processes a sweep runs: one on a GPU, which is busy enough alone; two on a CPU.

    The cpu kernel uses every core already, but scoring and the rest are serial: on 2 cores,
    two processes on one thread each swept shared 256² previews 1.6x faster (410-460 against
    250-300 a minute) and per-point ones as fast (100-140 a minute either way).
    """
    return 1 if kernels.device_type(device) == "cuda" else min(2, os.cpu_count() or 1)


def _start_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sweep's to handle
    kernels.set_threads(threads)
    # render's (silent) progress bar would make tqdm's default lock, a multiprocessing one,
    # whose semaphore a worker ended by a stopped sweep leaks, with a warning on exit
    tqdm.set_lock(threading.RLock())


def _preview_task(job: tuple) -> Record:
    spec, resolution, device, backend, sweeper = job
    record = preview(spec, resolution, device=device, backend=backend)
    if os.getppid() != sweeper:
        os._exit(1)  # the sweep was killed: leave quietly rather than fail to hand this over
    return record


def _previews(specs: list[ArtworkSpec], resolution: int, device: torch.device, backend: str,
              workers: int):
    """Yield the record of each spec, in the order they finish."""
    if workers == 1:
        for spec in specs:
            yield preview(spec, resolution, device=device, backend=backend)
        return
    threads = max(1, kernels.threads() // workers)
    # spawn: a forked child would inherit the OpenMP and torch thread pools in a broken state
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, _start_worker, (threads,))
    try:
        jobs = ((spec, resolution, device, backend, os.getpid()) for spec in specs)
        yield from pool.imap_unordered(_preview_task, jobs)
        pool.close()
    except BaseException:
        pool.terminate()  # stopped early: the previews in flight are dropped
        raise
    finally:
        pool.join()


@dataclass(frozen=True)
class SweepResult:
    requested: int  # distinct artworks the sweep was asked for
    skipped: int  # already in the catalog from an earlier run
    rendered: int  # previewed, scored and recorded by this run
    seconds: float
    catalog_size: int  # records in the catalog afterwards


def sweep(specs: list[ArtworkSpec], catalog: Path, *, preview_size: int, device: torch.device,
          backend: str = "auto", workers: int | None = None,
          progress: bool = False) -> SweepResult:
    """Record every artwork of `specs` missing from `catalog`, previewed at `preview_size`.

    Each record is committed as it finishes, so the sweep may be stopped at any moment and
    run again: it renders only what the catalog lacks.
    """
    from generator.score import MIN_SIDE

    if not 2 * MIN_SIDE <= preview_size <= MAX_RESOLUTION:
        raise SpecError(f"preview must be in {2 * MIN_SIDE}..{MAX_RESOLUTION} (it is scored "
                        f"halved, and {MIN_SIDE}² is the smallest image a fractal dimension "
                        f"is measured on), got {preview_size}")
    workers = default_workers(device) if workers is None else workers
    if workers < 1:
        raise SpecError(f"workers must be at least 1, got {workers}")
    unique = list({spec.id: spec for spec in specs}.values())
    start = time.perf_counter()
    with open_catalog(catalog, preview=preview_size) as cat:
        done = cat.ids()
        todo = [spec for spec in unique if spec.id not in done]
        workers = max(1, min(workers, len(todo)))
        rendered = 0
        with tqdm(total=len(unique), initial=len(unique) - len(todo), unit="seed",
                  desc="sweep", disable=not progress) as bar:
            for record in _previews(todo, preview_size, device, backend, workers):
                rendered += cat.add(record)
                bar.update()
        size = len(cat)
    return SweepResult(len(unique), len(unique) - len(todo), rendered,
                       time.perf_counter() - start, size)


# The default order: how intricate an artwork looks, as the mean of its percentile ranks in
# the catalog (so any preview size and pool calibrates itself) of these scores. See the module
# docstring for the calibration on the paper's five published artworks.
INTRICACY = ("fractal_dimension", "raw_fractal_dimension", "grey_entropy", "lacunarity")


@dataclass(frozen=True)
class Criteria:
    """What `select` picks; the defaults are `attnart select`'s."""

    top: int = 24  # picks at most
    # Rank by closeness of the fractal dimension to this target, within the band, instead of
    # by intricacy. Spehar et al. (2003) found D ≈ 1.3-1.5 preferred on average; Spehar et al.
    # (2016) found people split into preference types (smooth, mid, complex), so no single
    # target suits everyone.
    target: float | None = None
    band: float = 0.15  # largest |D - target| picked, with a target
    # White fractions outside [min_white, max_white]: mostly one colour. The paper's five are
    # 17-56 % white; a third of random seeds lie outside 15-85 %, mostly all one colour.
    min_white: float = 0.15
    max_white: float = 0.85
    # Least `difference` of a pick's thumbnail to a better pick's. Mostly black landscapes
    # differ little however drawn: the same matrices rendered shared and per-point, or two
    # seeds' look-alike stripes, measured 0.02-0.07; the median seed's nearest of 135 others,
    # 0.13.
    distinct: float = 0.07

    def __post_init__(self):
        if isinstance(self.top, bool) or not isinstance(self.top, int) or self.top < 1:
            raise SpecError(f"top must be a positive integer, got {self.top!r}")
        if self.target is not None and not 0 <= self.target <= 2:
            raise SpecError("target dimension must be in 0..2 (a boundary in the plane), "
                            f"got {self.target}")
        if not self.band >= 0:
            raise SpecError(f"band must be a non-negative number, got {self.band}")
        if not 0 <= self.min_white < self.max_white <= 1:
            raise SpecError("need 0 <= min-white < max-white <= 1, "
                            f"got {self.min_white}, {self.max_white}")
        if not 0 <= self.distinct <= 1:
            raise SpecError(f"distinct must be in 0..1, got {self.distinct}")

    def describe(self, like: int = 0) -> str:
        if like:
            order = f"closest to {like} favourite(s) in the standardised scores, closest first"
        elif self.target is None:
            order = "most intricate first (" + ", ".join(INTRICACY) + ", as catalog percentiles)"
        else:
            order = f"fractal dimension within {self.target} ± {self.band}, closest first"
        return (f"{order}; white {self.min_white:.0%}-{self.max_white:.0%}; thumbnails at "
                f"least {self.distinct} apart")


@dataclass(frozen=True)
class Selection:
    picks: list[Record]  # best first
    considered: int  # records in the catalog
    degenerate: int  # white fraction outside the bounds: near-empty or near-full
    off_target: int  # fractal dimension outside the band; with favourites, records that lack
    # a score (catalogs of attnart 0.1) or are favourites themselves
    duplicates: int  # passed over for looking like a better-ranked pick
    toml: str = ""  # the picks as a seeds file (set by `pick`)


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two thumbnails, 0 (same) to 1 (negatives)."""
    x = np.frombuffer(a, dtype=np.uint8).astype(np.int16)
    y = np.frombuffer(b, dtype=np.uint8).astype(np.int16)
    return float(np.abs(x - y).mean() / 255)


def _values(records: list[Record], names) -> np.ndarray:
    """(records, names) float array of scores; NaN where a record lacks one."""
    return np.array([[float(r.scores.get(n, np.nan)) for n in names] for r in records],
                    dtype=np.float64).reshape(len(records), len(names))


def intricacy(records: list[Record]) -> np.ndarray:
    """Each record's mean percentile rank among `records` over INTRICACY, 0..1; a score a
    record lacks (catalogs of attnart 0.1) is left out of its mean."""
    values = _values(records, INTRICACY)  # (R, 3)
    ranks = np.full_like(values, np.nan)
    for j in range(values.shape[1]):
        known = ~np.isnan(values[:, j])
        ranks[known, j] = (np.searchsorted(np.sort(values[known, j]), values[known, j],
                                           side="right") / max(1, known.sum()))
    return np.nanmean(ranks, axis=1) if len(records) else np.zeros(0)


def likeness(records: list[Record], favourites: list[dict]) -> np.ndarray:
    """Euclidean distance of each record to its nearest favourite (scores dicts) in FEATURES,
    each standardised by the records' mean and standard deviation; NaN for records lacking
    a score."""
    from generator.score import FEATURES

    values = _values(records, FEATURES)  # (R, F)
    liked = np.array([[float(f[n]) for n in FEATURES] for f in favourites])  # (L, F)
    known = values[~np.isnan(values).any(axis=1)]
    mean = known.mean(axis=0) if len(known) else np.zeros(len(FEATURES))
    std = known.std(axis=0) if len(known) > 1 else np.ones(len(FEATURES))
    std = np.where(std > 0, std, 1.0)  # a score every record shares tells nothing apart
    z, zl = (values - mean) / std, (liked - mean) / std
    return np.sqrt(((z[:, None, :] - zl[None, :, :]) ** 2).sum(-1)).min(axis=1)  # (R,)


def select(records: list[Record], criteria: Criteria = Criteria(), *,
           favourites: list[Record] | None = None) -> Selection:
    """The best records by `criteria`, white fraction within bounds, no thumbnail within
    `distinct` of a better pick's. The order: closest to the favourites when given, else
    closest to the target dimension (within the band) when given, else most intricate.
    Ties go to the smaller seed."""
    c = criteria
    shaped = [r for r in records if c.min_white <= r.scores["white_fraction"] <= c.max_white]
    if favourites:
        liked = {f.spec.id for f in favourites}
        distance = likeness(shaped, [f.scores for f in favourites])
        keys = dict(zip((r.spec.id for r in shaped), distance))
        near = [r for r in shaped if r.spec.id not in liked and not np.isnan(keys[r.spec.id])]
    elif c.target is None:
        keys = dict(zip((r.spec.id for r in shaped), -intricacy(shaped)))
        near = shaped
    else:
        keys = {r.spec.id: abs(r.scores["fractal_dimension"] - c.target) for r in shaped}
        near = [r for r in shaped if keys[r.spec.id] <= c.band]
    near = sorted(near, key=lambda r: (keys[r.spec.id], r.spec.seed, r.spec.id))
    picks: list[Record] = []
    duplicates = 0
    for record in near:
        if len(picks) == c.top:
            break
        if any(difference(record.thumbnail, p.thumbnail) < c.distinct for p in picks):
            duplicates += 1
        else:
            picks.append(record)
    return Selection(picks, len(records), len(records) - len(shaped), len(shaped) - len(near),
                     duplicates)


def artwork_toml(record: Record) -> str:
    """One `[[artwork]]` table of a seeds file (`spec.artwork_toml`), titled by its seed, with
    the preview's scores as a comment."""
    spec, s = record.spec, record.scores
    return spec_toml(spec, title=f"Seed {spec.seed}",
                     comment=f"D {s['fractal_dimension']:.3f} (r² {s['r2']:.3f}), white "
                             f"{s['white_fraction']:.1%} on the preview; id {spec.id}")


def picks_toml(picks: list[Record], *, heading: str) -> str:
    """A seeds file of `picks` in `seeds/paper.toml`'s format (see `artwork_toml`)."""
    lines = [f"# {line}".rstrip() for line in heading.splitlines()]
    return "\n".join(lines) + "\n\n" + "\n".join(artwork_toml(r) for r in picks)


def check_out(out: Path, *, force: bool = False, catalog: Path | None = None,
              suffix: str = ".toml") -> None:
    """Fail before any work when the picks cannot go to `out`: an existing file is replaced
    only with `force`, and the catalog never."""
    if not out.parent.is_dir():
        raise OutputError(f"output folder {out.parent} does not exist; create it first")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder; give a file name ending in {suffix}")
    if out.exists():
        if catalog is not None and catalog.exists() and out.samefile(catalog):
            raise OutputError(f"output {out} is the catalog itself; give another file")
        if not force:
            raise OutputError(f"output {out} exists; use --force to replace it")


def favourite_records(specs: list[ArtworkSpec], records: list[Record], preview_size: int, *,
                      device: str = "auto", progress: bool = False) -> list[Record]:
    """The catalog's record of each favourite, or (absent, or scored by attnart 0.1) its
    preview at the catalog's size, made as a sweep makes it."""
    from generator.render import resolve_device
    from generator.score import FEATURES

    by_id = {r.spec.id: r for r in records if all(f in r.scores for f in FEATURES)}
    missing = [s for s in specs if s.id not in by_id]
    if missing:
        where = resolve_device(device)
        for spec in tqdm(missing, unit="seed", desc="favourites", disable=not progress):
            by_id[spec.id] = preview(spec, preview_size, device=where)
    return [by_id[s.id] for s in specs]


def pick(catalog: Path, out: Path | None, criteria: Criteria = Criteria(), *,
         force: bool = False, like: Path | None = None, device: str = "auto",
         progress: bool = False) -> Selection:
    """Select from `catalog` by `criteria` (or by likeness to the artworks of the seeds file
    `like`) and write the picks to `out` as a seeds file (with `out` None, only into
    `Selection.toml`)."""
    from generator.spec import load_seeds

    if out is not None:
        check_out(out, force=force, catalog=catalog)
    liked = load_seeds(like) if like is not None else []
    with open_catalog(catalog, readonly=True) as cat:
        records, size = cat.records(), cat.preview
    if not records:
        raise SpecError(f"catalog {catalog} holds no artworks yet; run attnart sweep first")
    favourites = favourite_records(liked, records, size, device=device, progress=progress)
    selection = select(records, criteria, favourites=favourites)
    if not selection.picks:
        raise SpecError(f"none of the {len(records)} artworks in {catalog} meets the criteria "
                        "(widen --band, move --target-dimension or the white bounds); "
                        "nothing was written")
    source = f" like the {len(liked)} of {like.name}" if liked else ""
    heading = (f"Picked by attnart select from {catalog.name}{source}, {len(selection.picks)} "
               f"of {len(records)} artworks scored on {size}² previews:\n"
               f"{criteria.describe(len(liked))}.\n"
               "Fields left out take the command line's values, and those the defaults.")
    selection = dataclasses.replace(selection, toml=picks_toml(selection.picks, heading=heading))
    if out is not None:
        write_files({out: selection.toml.encode()})
    return selection
