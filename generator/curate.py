"""Sweeps over seed lists into a catalog, and the selection of the best artworks from it.

A sweep renders each artwork at a small preview resolution, scores it and records it (see
`generator.catalog`); `preview` is that whole step for one seed, a plain function. A selection
leaves out images that are mostly one colour and near-duplicates, and ranks the rest by one of
three orders: by default *intricacy*, the weighted mean of each artwork's percentile ranks in
the catalog of INTRICACY's scores, calibrated on the only human curation of this art we know
(the worst of the paper's five published seeds ranks in the top quarter of 300 random ones in
21 of 22 pools, about the top fifth; README and `benchmarks/calibration.py` give the figures);
by closeness of the fractal dimension to a target (Spehar et al. 2003 found D ≈ 1.3-1.5
preferred on average, Spehar et al. 2016 found preference types, so one target is too blunt
for a default); or by likeness to favourites (distance to the nearest one in the standardised
scores).

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
import heapq
import io
import itertools
import math
import multiprocessing
import os
import queue
import re
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from generator import kernels
from generator.catalog import IMAGE, THUMBNAIL, Failure, Record, claimant, open_catalog
from generator.errors import OutputError, SpecError
from generator.files import write_files
from generator.spec import MAX_RESOLUTION, SEED_MAX, ArtworkSpec
from generator.spec import artwork_toml as spec_toml

# torch (and with it rng, render, score) is imported where it is used: loading it takes
# seconds, and the command line's parser reads this module's defaults and help.

MAX_SEEDS = 1_000_000  # per sweep: past this, the seed list alone outweighs the work's sense
SEEDS_HELP = ("seeds: N, A-B (inclusive) or a comma list of those, e.g. 1-5000 or 1,5,9-12; "
              "@FILE reads such items from FILE, separated by commas, spaces or lines, "
              "'#' starting a comment")
_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")


class SeedList:
    """The seeds a --seeds text names, in order, each once: kept as runs [low, high] (two
    arrays), so a range of a million seeds costs as little as one seed, and iterated lazily."""

    def __init__(self, lows: list[int], highs: list[int]):
        self.lows = np.array(lows, dtype=np.uint64)
        self.highs = np.array(highs, dtype=np.uint64)
        self._len = sum(h - lo + 1 for lo, h in zip(lows, highs))  # in Python's ints: no wrap

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        for low, high in zip(self.lows.tolist(), self.highs.tolist()):
            yield from range(low, high + 1)


def _first_mentions(lows: list[int], highs: list[int]) -> tuple[list[int], list[int]]:
    """Runs of the seeds of items [lows[i], highs[i]], each seed under the first item that
    names it, in the items' order: a sweep over the items' endpoints, O(n log n) in items."""
    order = sorted(range(len(lows)), key=lows.__getitem__)
    if all(lows[j] > highs[i] for i, j in zip(order, order[1:])):
        return lows, highs  # no overlaps: the common case, kept as given
    pieces = []  # (item, low, high)
    active: list[tuple[int, int]] = []  # heap of (item, high) covering x
    k, x = 0, lows[order[0]]
    while k < len(order) or active:
        if not active:
            x = max(x, lows[order[k]])
        while k < len(order) and lows[order[k]] <= x:
            heapq.heappush(active, (order[k], highs[order[k]]))
            k += 1
        while active and active[0][1] < x:
            heapq.heappop(active)  # the earliest item ended: a later one may still cover x
        if not active:
            continue
        item, high = active[0]
        end = min(high, lows[order[k]] - 1) if k < len(order) else high
        if pieces and pieces[-1][0] == item and pieces[-1][2] == x - 1:
            pieces[-1] = (item, pieces[-1][1], end)
        else:
            pieces.append((item, x, end))
        x = end + 1
    pieces.sort()
    return [p[1] for p in pieces], [p[2] for p in pieces]


def parse_seeds(text: str) -> SeedList:
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
    lows, highs = [], []
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
        lows.append(low)
        highs.append(high)
    seeds = SeedList(*_first_mentions(lows, highs))
    if len(seeds) > MAX_SEEDS:
        raise SpecError(f"{source} names {len(seeds):,} seeds, over {MAX_SEEDS:,}; split the "
                        "sweep")
    return seeds


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


def preview(spec: ArtworkSpec, resolution: int, *, device: str, backend: str = "auto"
            ) -> Record:
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


def preview_batch(specs: list[ArtworkSpec], resolution: int, device: str, backend: str
                  ) -> list[Record | Failure]:
    """One task of a sweep, run by a local worker process or a Dask worker: the record of
    each spec, or its failure with the message. `device` ("auto" too) is resolved where the
    task runs, which on a cluster is not the driver's machine."""
    from generator.render import resolve_device

    where = resolve_device(device)
    results = []
    for spec in specs:
        try:
            results.append(preview(spec, resolution, device=where, backend=backend))
        except Exception as e:  # this seed's problem: recorded, and the sweep goes on
            results.append(Failure(spec, f"{type(e).__name__}: {e}"))
    return results


def default_workers(device: str) -> int:
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


def _local_task(specs, resolution, device, backend, sweeper) -> list[Record | Failure]:
    results = preview_batch(specs, resolution, device, backend)
    if os.getppid() != sweeper:
        os._exit(1)  # the sweep was killed: leave quietly rather than fail to hand this over
    return results


class LocalPool:
    """Worker processes on this machine; `submit(specs, ..., put)` calls `put` with a
    function returning the task's results (or raising its error) when it is done."""

    batch = 1  # seeds per task: a seed's preview takes 0.1 s or more here, overhead ~1 ms

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = None
        if workers > 1:
            threads = max(1, kernels.threads() // workers)
            # spawn: a forked child would inherit the OpenMP thread pool in a broken state
            context = multiprocessing.get_context("spawn")
            self._pool = context.Pool(workers, _start_worker, (threads,))

    def submit(self, specs, resolution, device, backend, put) -> None:
        if self._pool is None:
            results = preview_batch(specs, resolution, device, backend)
            put(lambda: results)
            return

        def failed(e):
            def again():
                raise e
            put(again)
        self._pool.apply_async(_local_task, (specs, resolution, device, backend, os.getpid()),
                               callback=lambda r: put(lambda: r), error_callback=failed)

    @property
    def slots(self) -> int:
        return 2 * self.workers  # tasks in flight: each worker has its next one queued

    def close(self, finished: bool) -> None:
        if self._pool is not None:
            if finished:
                self._pool.close()
            else:
                self._pool.terminate()  # stopped early: the previews in flight are dropped
            self._pool.join()


def _batches(items: Iterable, size: int):
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def _fan_out(tasks: Iterator[list[ArtworkSpec]], pool, resolution: int, device: str,
             backend: str):
    """Yield each task's results as it finishes, keeping `pool.slots` tasks in flight; the
    task list is read (and the catalog queried for it) only as slots free up."""
    done: queue.Queue = queue.Queue()
    pending = 0
    for task in itertools.chain(itertools.islice(tasks, pool.slots), [None]):
        if task is None:
            break
        pool.submit(task, resolution, device, backend, done.put)
        pending += 1
    while pending:
        results = done.get()()
        pending -= 1
        task = next(tasks, None)
        if task is not None:
            pool.submit(task, resolution, device, backend, done.put)
            pending += 1
        yield results


@dataclass(frozen=True)
class Rung:
    """A screening step: preview every candidate at `resolution`, keep the best `keep` (a
    fraction below 1, or a count) by intricacy among them."""

    resolution: int
    keep: float

    @classmethod
    def parse(cls, text: str) -> Rung:
        match = re.fullmatch(r"([0-9]+):([0-9]*\.?[0-9]+)(%?)", text.strip())
        if not match:
            raise SpecError(f"--screen {text!r}: give RES:KEEP, e.g. 64:10% (keep the best "
                            "tenth at 64²) or 64:500 (keep the best 500)")
        keep = float(match[2]) / 100 if match[3] else float(match[2])
        if match[3] and not 0 < keep < 1 or not match[3] and (keep < 1 or keep % 1):
            raise SpecError(f"--screen {text!r}: keep a percentage above 0 and below 100, "
                            "or a whole number of seeds")
        return cls(int(match[1]), keep)

    def kept(self, count: int) -> int:
        return max(1, math.ceil(self.keep * count)) if self.keep < 1 else int(self.keep)


@dataclass(frozen=True)
class SweepResult:
    requested: int  # artworks the sweep was asked for (a repeat counts again, stored once)
    skipped: int  # in the catalog already, recorded as failed, or claimed by another sweep
    rendered: int  # previewed, scored and recorded by this run
    failed: int  # raised when previewed (by this run or, not retried, an earlier one)
    seconds: float
    catalog_size: int  # records in the catalog afterwards
    screened: tuple = ()  # per rung: (resolution, candidates, kept)


class _Rung:
    """One pass over candidate specs at one resolution: skips what the catalog holds (as it
    is just before each batch, so two sweeps of one catalog share the work), hands the rest
    to the pool, and stores results in batches as they arrive."""

    def __init__(self, cat, pool, resolution: int, screening: bool, device: str, backend: str,
                 retry_failed: bool, bar):
        self.cat, self.pool, self.resolution = cat, pool, resolution
        self.screening, self.device, self.backend = screening, device, backend
        self.retry_failed, self.bar = retry_failed, bar
        self.owner = claimant()
        self.requested = self.skipped = self.rendered = self.failed = 0
        self.ids: list[str] = []  # every candidate's, for the cut

    def _todo(self, specs: Iterable[ArtworkSpec]):
        # checked a few tasks at a time, just before they are handed out: what another sweep
        # stored or claimed meanwhile is left to it
        for batch in _batches(specs, self.pool.slots * self.pool.batch):
            batch = list({s.id: s for s in batch}.values())
            ids = [s.id for s in batch]
            self.requested += len(batch)
            if self.screening:
                self.ids += ids
            stored = self.cat.stored(ids, self.resolution if self.screening else None)
            failed = {} if self.retry_failed else self.cat.failed(ids)
            open_ids = [i for i in ids if i not in stored and i not in failed]
            mine = self.cat.claim(open_ids, self.owner) if open_ids else set()
            todo = [s for s in batch if s.id in mine]
            self.skipped += len(batch) - len(todo)
            self.failed += len(failed)
            self.bar.update(len(batch) - len(todo))
            yield from _batches(todo, self.pool.batch)

    def run(self, specs: Iterable[ArtworkSpec]) -> None:
        unsaved, saved_at = [], time.monotonic()
        try:
            for results in _fan_out(self._todo(specs), self.pool, self.resolution,
                                    self.device, self.backend):
                unsaved += results
                self.bar.update(len(results))
                # four transactions a second at most: cheap for SQLite at any rate of results,
                # and a killed sweep loses a quarter of a second's work
                if time.monotonic() - saved_at > 0.25 or len(unsaved) >= 256:
                    self._save(unsaved)
                    unsaved, saved_at = [], time.monotonic()
        finally:
            self._save(unsaved)  # on Ctrl-C too: what arrived is kept
            self.cat.release(self.owner)

    def _save(self, results: list) -> None:
        if results:
            self.rendered += self.cat.add_results(
                results, self.resolution if self.screening else None)
            self.failed += sum(isinstance(r, Failure) for r in results)

    def cut(self, rung: Rung) -> list[str]:
        """Rank the screened candidates by intricacy, record it; the ids kept, best first."""
        scores = self.cat.screen_scores(self.ids, self.resolution)
        ids = [i for i in self.ids if i in scores]
        ranks = intricacy_of([scores[i] for i in ids])
        order = sorted(range(len(ids)), key=lambda k: -ranks[k])
        kept = [ids[k] for k in order[:rung.kept(len(ids))]]
        self.cat.cut(self.resolution, dict(zip(ids, ranks.tolist())), set(kept))
        return kept


def sweep(specs: Iterable[ArtworkSpec], catalog: Path, *, preview_size: int,
          device: str = "auto", backend: str = "auto", workers: int | None = None,
          cluster: str | None = None, batch: int | None = None, screens: list[Rung] = (),
          retry_failed: bool = False, total: int | None = None,
          progress: bool = False) -> SweepResult:
    """Record every artwork of `specs` (an iterable, read as the sweep goes; `total` of them,
    for the progress bar) missing from `catalog`, previewed at `preview_size`; with
    `screens`, first preview them at each rung's resolution and go on with the best only.

    Results are committed as they arrive, so the sweep may be stopped at any moment and run
    again: it renders only what the catalog lacks. A seed whose preview raised is recorded
    as failed and left alone by later runs unless `retry_failed`. `cluster` (a Dask
    scheduler's address, or "local") runs the tasks there, `batch` seeds each.
    """
    from generator.score import MIN_SIDE

    for name, size in (*[("screen", r.resolution) for r in screens], ("preview", preview_size)):
        if not 2 * MIN_SIDE <= size <= MAX_RESOLUTION:
            raise SpecError(f"{name} must be in {2 * MIN_SIDE}.."
                            f"{MAX_RESOLUTION} (a preview is scored halved, and {MIN_SIDE}² is "
                            f"the smallest image a fractal dimension is measured on), got {size}")
    sizes = [r.resolution for r in screens]
    if sizes != sorted(set(sizes)) or sizes and sizes[-1] >= preview_size:
        raise SpecError(f"screening resolutions must grow and stay below --preview "
                        f"{preview_size}, got {', '.join(map(str, sizes))}")
    if workers is not None and workers < 1:
        raise SpecError(f"workers must be at least 1, got {workers}")
    if batch is not None and batch < 1:
        raise SpecError(f"batch must be at least 1 seed, got {batch}")
    if cluster is not None:
        from generator.cluster import DaskPool
        make_pool = lambda: DaskPool(cluster, device, batch)  # noqa: E731
    else:
        from generator.render import resolve_device
        device = resolve_device(device)
        count = default_workers(device) if workers is None else workers
        make_pool = lambda: LocalPool(count)  # noqa: E731
    start = time.perf_counter()
    screened = []
    pool, finished = make_pool(), False  # first: no cluster, no catalog made either
    try:
        with open_catalog(catalog, preview=preview_size) as cat, \
                tqdm(total=total, unit="seed", desc="sweep", disable=not progress) as bar:
            for rung in screens:
                step = _Rung(cat, pool, rung.resolution, True, device, backend, retry_failed,
                             bar)
                bar.set_description(f"screen {rung.resolution}²")
                step.run(specs)
                kept = step.cut(rung)
                screened.append((rung.resolution, len(step.ids), len(kept)))
                specs = cat.screened_specs(kept, rung.resolution)
                bar.reset(total=len(kept))
            bar.set_description(f"sweep {preview_size}²")
            final = _Rung(cat, pool, preview_size, False, device, backend, retry_failed, bar)
            final.run(specs)
            finished = True
            size = len(cat)
    finally:
        pool.close(finished)
    requested = screened[0][1] if screened else final.requested
    return SweepResult(requested, final.skipped, final.rendered, final.failed,
                       time.perf_counter() - start, size, tuple(screened))


# The default order, "intricacy": the weighted mean of an artwork's percentile ranks in the
# catalog (so any preview size and pool calibrates itself) of these scores, each counted up
# (weight > 0) or down (< 0): rich grey levels, solid dark areas, fine grain, yet compressible
# (the grain laid out in bands and fields, not noise everywhere). See the module docstring for
# the calibration on the paper's five published artworks.
INTRICACY = (("grey_entropy", 2.0), ("compression", -1.5), ("speckle", 0.5), ("solid_black", 1.0))


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
            order = ("most intricate first (weighted catalog percentiles of "
                     + ", ".join(f"{weight:+g} {name}" for name, weight in INTRICACY) + ")")
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
    """Each record's mean percentile rank among `records` over INTRICACY, weighted, 0..1; a
    score a record lacks (catalogs of earlier versions) is left out of its mean."""
    return intricacy_of([r.scores for r in records])


def intricacy_of(scores: list[dict], order=None) -> np.ndarray:
    """`intricacy` of score dicts, by `order` (INTRICACY's form; INTRICACY when None).
    Records of attnart 0.1's catalogs hold the fractal dimension alone: they are ranked by
    its percentile."""
    order = INTRICACY if order is None else order
    values = np.array([[np.sign(weight) * float(s.get(name, np.nan))
                        for name, weight in order] for s in scores],
                      dtype=np.float64).reshape(len(scores), len(order))
    ranks = _percentile_mean(values, np.abs([weight for _, weight in order]))
    alone = np.isnan(ranks)
    if alone.any():
        dimension = [[float(s.get("fractal_dimension", np.nan))] for s in scores]
        ranks[alone] = _percentile_mean(np.array(dimension))[alone]
    return ranks


def _percentile_mean(values: np.ndarray, weights=None) -> np.ndarray:
    """Each row's mean over columns of its percentile rank in the column, weighted (equally
    when not given), NaNs left out."""
    weights = np.ones(values.shape[1]) if weights is None else np.asarray(weights, float)
    ranks = np.full_like(values, np.nan)
    for j in range(values.shape[1]):
        known = ~np.isnan(values[:, j])
        ranks[known, j] = (np.searchsorted(np.sort(values[known, j]), values[known, j],
                                           side="right") / max(1, known.sum()))
    known = np.where(np.isnan(ranks), 0.0, weights).sum(axis=1)
    weighted = np.where(np.isnan(ranks), 0.0, ranks * weights).sum(axis=1)
    # Rounded so that equal means reached by different sums tie, and the seed decides.
    return np.round(np.where(known > 0, weighted / np.maximum(known, 1e-300), np.nan), 12)


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
