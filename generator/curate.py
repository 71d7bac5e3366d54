"""Sweeps over seed lists into a catalog, and the selection of the best artworks from it.

A sweep renders each artwork at a small preview resolution, scores it and records it (see
`generator.catalog`); `preview` is that whole step for one seed, a plain function. A selection
leaves out images that are mostly one colour and near-duplicates, and ranks the rest by one of
three orders: by default *intricacy*, the weighted mean of each artwork's percentile ranks in
the catalog of INTRICACY's scores, calibrated on the only human curation of this art we know
(the worst of the paper's five published seeds ranks in the top quarter of 300 random ones in
21 of 22 pools and all 10 at the sweep's 256² previews, at a mean 17.8 % of the pool, 14.3 %
at 256²;
docs/scores.md and `benchmarks/calibration.py` give the figures);
by closeness of the fractal dimension to a target (Spehar et al. 2003 found D ≈ 1.3-1.5
preferred on average, Spehar et al. 2016 found preference types, so one target is too blunt
for a default); or by likeness to favourites (distance to the nearest one in the standardised
scores).

A preview of an `init = "shared"` artwork is its full-resolution landscape sampled more
coarsely; a `per-point` one draws a fresh X(0) per grid point, so it is another sample of the
same convergence probabilities, speckled where they are neither 0 nor 1. The fractal
dimension is defined on what the picture is, not its pixel count (`generator.score`): per-point
previews at 256² score within 0.04 of the same seeds at 1024² for 297 of 300 seeds, and for
every one of them at 15-85 % white (median 0.002-0.003). The tone and texture scores are
measured on the preview halved, as the 512 px view of a 1500 px render averages the speckle;
the intricacy calibration below was made on them.
"""

from __future__ import annotations

import dataclasses
import functools
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
from generator.files import carries_mark, read_input, write_files
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
        # in Python's ints: 0-18446744073709551615 counts 2**64, past what len() may return
        self.count = sum(h - lo + 1 for lo, h in zip(lows, highs))

    def __len__(self) -> int:
        return self.count

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


def _number(digits: str) -> int:
    # past 4300 digits int() raises; past 20 digits it is past every seed anyway
    return int(digits) if len(digits.lstrip("0")) <= len(str(SEED_MAX)) else SEED_MAX + 1


def parse_seeds(text: str) -> SeedList:
    """The seeds `text` names (see SEEDS_HELP), in order, each once; at most MAX_SEEDS, and
    counted, never listed, before that is checked."""
    source = "--seeds"
    if text.startswith("@"):
        source = text[1:]
        data = read_input(source, "seed file")  # a FIFO, a device or a huge file: one line
        try:
            text = data.decode("utf-8-sig")  # a BOM is not a seed
        except UnicodeDecodeError:
            raise SpecError(f"seed file {source} is not UTF-8 text; is it the right file?"
                            ) from None
        text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    lows, highs = [], []
    for token in re.finditer(r"[^,\s]+", text):
        item = token[0] if len(token[0]) <= 45 else token[0][:40] + "..."  # as quoted
        match = _ITEM.fullmatch(token[0])
        if not match:
            raise SpecError(f"{source}: {item!r} is neither a seed N nor a range A-B")
        low = _number(match[1])
        high = low if match[2] is None else _number(match[2])
        if high > SEED_MAX:
            raise SpecError(f"{source}: {item!r} goes past the largest seed, {SEED_MAX}")
        if low > high:
            raise SpecError(f"{source}: range {item!r} runs backwards; write it as {high}-{low}")
        if len(lows) == MAX_SEEDS:  # each item names a seed at least
            raise SpecError(f"{source} lists over {MAX_SEEDS:,} items; split the sweep")
        lows.append(low)
        highs.append(high)
    if not lows:
        raise SpecError(f"{source} names no seeds; give e.g. 1-5000 or 1,5,9")
    seeds = SeedList(*_first_mentions(lows, highs))
    if seeds.count > MAX_SEEDS:
        raise SpecError(f"{source} names {seeds.count:,} seeds, over {MAX_SEEDS:,}; split the "
                        "sweep")
    return seeds


def measure(labels: np.ndarray) -> tuple[dict, bytes, bytes]:
    """Scores, near-duplicate thumbnail and stored image (PNG) of preview `labels`."""
    from generator.render import to_image
    from generator.score import score

    side = labels.shape[0] // 2  # see the module docstring
    scores = score(labels, display=side, landscape=True).as_dict()
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


def _serve(conn, threads: int) -> None:
    """A worker process: run each task `conn` brings, send back its results, and leave when
    the sweep closes its end, or dies (a killed sweep leaves no workers behind)."""
    _start_worker(threads)
    try:
        while True:
            work, specs, args = conn.recv()
            conn.send(work(specs, *args))
    except (EOFError, OSError):
        pass


TRIES = 3  # a task whose worker process dies this often is recorded as failed, as on Dask


def _died(exitcode: int) -> str:
    how = (f"killed by signal {-exitcode} ({signal.strsignal(-exitcode)})" if exitcode < 0
           else f"exit status {exitcode}")
    return (f"the worker process previewing it died {TRIES} times (the last {how}; the "
            "out-of-memory killer sends SIGKILL)")


class LocalPool:
    """Worker processes on this machine: `submit(work, specs, args, put)` calls `put` with a
    function returning `work(specs, *args)` (or raising why it cannot) when it is done.

    Each process has a thread here that hands it one task at a time and waits for the
    results or the process's death: a worker killed (by the OOM killer, say) is replaced
    and its task run again, TRIES times at most, then its seeds are recorded as failed."""

    batch = 1  # seeds per task: a seed's preview takes 0.1 s or more here, overhead ~1 ms

    def __init__(self, workers: int):
        self.workers = workers
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._live: set = set()  # worker processes, for close to kill
        self._stopping = False
        self._drivers = []
        if workers > 1:
            threads = max(1, kernels.threads() // workers)
            # spawn: a forked child would inherit the OpenMP thread pool in a broken state
            # (and every other worker's pipe, which would keep it from seeing the sweep die)
            context = multiprocessing.get_context("spawn")
            self._drivers = [threading.Thread(target=self._drive, args=(context, threads),
                                              daemon=True) for _ in range(workers)]
            for driver in self._drivers:
                driver.start()

    def submit(self, work, specs, args, put) -> None:
        if not self._drivers:
            results = work(specs, *args)
            put(lambda: results)
        else:
            self._jobs.put((work, specs, args, put))

    def _start(self, context, threads):
        """A new worker process and our end of its pipe; None once the pool is stopping."""
        ours, theirs = context.Pipe()
        with self._lock:  # close() kills every process started before it, none after
            if self._stopping:
                return None
            process = context.Process(target=_serve, args=(theirs, threads), daemon=True)
            process.start()
            self._live.add(process)
        theirs.close()  # the worker's end is the worker's alone: its death closes the pipe
        return process, ours

    def _drive(self, context, threads) -> None:
        worker = None
        try:
            while (job := self._jobs.get()) is not None:
                work, specs, args, put = job
                try:
                    for _ in range(TRIES):
                        worker = worker or self._start(context, threads)
                        if worker is None:
                            return
                        try:
                            worker[1].send((work, specs, args))
                            results = worker[1].recv()
                            break
                        except (EOFError, OSError):  # the process died
                            exitcode = self._bury(worker)
                            worker = None
                            if self._stopping:
                                return
                    else:
                        results = [Failure(spec, _died(exitcode)) for spec in specs]
                except BaseException as e:  # no process can start (no memory, say): say so
                    put(functools.partial(_raise, e))
                    return
                put(lambda results=results: results)
        finally:
            if worker is not None:
                self._bury(worker)

    def _bury(self, worker) -> int:
        process, conn = worker
        conn.close()  # a live worker reads the end of its tasks and leaves
        process.join()
        with self._lock:
            self._live.discard(process)
        return process.exitcode

    def check(self) -> None:
        """Nothing to check here: each worker's driver thread sees its death."""

    @property
    def slots(self) -> int:
        return 2 * self.workers  # tasks in flight: each worker has its next one queued

    def close(self, finished: bool) -> None:
        if not finished:
            with self._lock:
                self._stopping = True
                for process in self._live:
                    process.kill()  # stopped early: the previews in flight are dropped
        for _ in self._drivers:
            self._jobs.put(None)
        for driver in self._drivers:
            driver.join()


def _raise(error: BaseException):
    raise error


def _batches(items: Iterable, size: int):
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def _fan_out(work, tasks: Iterator[list[ArtworkSpec]], pool, args: tuple):
    """Yield `work(task, *args)` of each task as it finishes, keeping `pool.slots` tasks in
    flight; the task list is read (and the catalog queried for it) only as slots free up."""
    done: queue.Queue = queue.Queue()
    pending = 0
    for task in itertools.islice(tasks, pool.slots):
        pool.submit(work, task, args, done.put)
        pending += 1
    while pending:
        try:
            outcome = done.get(timeout=1.0)
        except queue.Empty:
            pool.check()  # a pool that can no longer finish anything (a lost cluster) raises
            continue
        results = outcome()
        pending -= 1
        task = next(tasks, None)
        if task is not None:
            pool.submit(work, task, args, done.put)
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
    claimed: int = 0  # of the skipped: being previewed by another sweep that is running


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
        self.requested = self.skipped = self.rendered = self.failed = self.claimed = 0
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
            self.claimed += len(open_ids) - len(mine)
            todo = [s for s in batch if s.id in mine]
            self.skipped += len(batch) - len(todo)
            self.failed += len(failed)
            self.bar.update(len(batch) - len(todo))
            yield from _batches(todo, self.pool.batch)

    def run(self, specs: Iterable[ArtworkSpec]) -> None:
        unsaved, saved_at = [], time.monotonic()
        try:
            for results in _fan_out(preview_batch, self._todo(specs), self.pool,
                                    (self.resolution, self.device, self.backend)):
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
    most = 4 * (os.cpu_count() or 1)  # past this, processes only compete for memory
    if workers is not None and not 1 <= workers <= most:
        raise SpecError(f"workers must be 1..{most} (4 per CPU), got {workers}")
    if batch is not None and not 1 <= batch <= MAX_SEEDS:
        raise SpecError(f"batch must be 1..{MAX_SEEDS:,} seeds, got {batch}")
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
                       time.perf_counter() - start, size, tuple(screened), final.claimed)


# The default order, "intricacy": the weighted mean of an artwork's percentile ranks in the
# catalog (so any preview size and pool calibrates itself) of these scores, each counted up
# (weight > 0) or down (< 0): rich grey levels, solid dark areas, fine grain, yet compressible
# (the grain laid out in bands and fields, not noise everywhere), and boundary complexity. See
# the module docstring for the calibration on the paper's five published artworks. The fractal
# dimension's weight was fitted for score.ESTIMATOR 3 on the 22 pools of 300 swept afresh (the
# README's study). At 256², where D is measured on the landscape grid (LANDSCAPE_GRID: any
# render of the spec, at any size, repeats it), the mean worst rank of the five over 10 pools
# is 21.3 % of the pool without D, 15.4 % at weight 0.25, 14.3 % at 0.5 and 14.7 % at 1; the
# weight chosen on half the pools scores 14.4 % on the other half (all 252 halvings, 0.5 chosen
# in 195). Weight 0.5 also holds when the five are drawn again (X(0) from four other GPUs'
# streams): 16.2 % on average, against 21.6 % without D and 17.1 % at 1. On smaller previews,
# where D is measured on a coarser grid (32-224 px displays, fields smoothed by σ = 2-7 px),
# more weight harms: over their 12 pools the mean worst rank is 20.4 % without D, 20.7 % at
# 0.125 and 25.1 % at 0.5. So D's weight counts in full on previews of the landscape grid's
# side and up, and COARSE_DIMENSION of it below.
INTRICACY = (("grey_entropy", 2.0), ("compression", -1.5), ("speckle", 0.5), ("solid_black", 1.0),
             ("fractal_dimension", 0.5))
COARSE_DIMENSION = 0.25


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
            from generator.score import LANDSCAPE_GRID

            order = ("most intricate first (weighted catalog percentiles of "
                     + ", ".join(f"{weight:+g} {name}" for name, weight in INTRICACY)
                     + f"; D's weight x{COARSE_DIMENSION:g} on previews below "
                       f"{LANDSCAPE_GRID}²)")
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
    # the value each pick was ordered by, and its rank among every record so ordered (before
    # near-duplicates were passed over): what `select` prints beside each pick
    keys: tuple[float, ...] = ()
    ranks: tuple[int, ...] = ()
    order: str = ""  # what the keys are, in words


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
    share = dimension_share(scores)
    ranks = _percentile_mean(values, np.abs([weight * (share if name == "fractal_dimension"
                                                       else 1.0) for name, weight in order]))
    alone = np.isnan(ranks)
    if alone.any():
        dimension = [[float(s.get("fractal_dimension", np.nan))] for s in scores]
        ranks[alone] = _percentile_mean(np.array(dimension))[alone]
    return ranks


def dimension_share(scores: list[dict]) -> float:
    """The share of its INTRICACY weight the fractal dimension carries: 1 when the previews
    (their median side) are at least the landscape grid's side, else COARSE_DIMENSION; 1 for
    scores without a size."""
    from generator.score import LANDSCAPE_GRID

    sides = [s["resolution"] for s in scores if "resolution" in s]
    return 1.0 if not sides or np.median(sides) >= LANDSCAPE_GRID else COARSE_DIMENSION


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


def learn_taste(records: list[Record], liked: set[str], disliked: set[str], *,
                penalty: float = 10.0, steps: int = 50) -> np.ndarray:
    """Each record's probability of being liked under a logistic regression on its
    standardised FEATURES, fitted on the records whose ids are `liked` (1) and `disliked`
    (0) by Newton's method with an L2 `penalty` on the weights (a few judgements cannot pin
    ten weights down alone: on the stored pools, `benchmarks/learn_taste.py`, the left-out
    fifth of the paper's five ranked at a median 29 % of the pool with penalty 0.1, 19 % with
    1, 17 % with 10, by issue 24's first estimator); NaN for records lacking a score."""
    from generator.score import FEATURES

    values = _values(records, FEATURES)  # (R, F)
    known = ~np.isnan(values).any(axis=1)
    mean, std = values[known].mean(axis=0), values[known].std(axis=0)
    z = np.hstack([np.ones((len(records), 1)), (values - mean) / np.where(std > 0, std, 1.0)])
    ids = [r.spec.id for r in records]
    rated = np.array([known[i] and (ids[i] in liked or ids[i] in disliked)
                      for i in range(len(ids))])
    x, y = z[rated], np.array([ids[i] in liked for i in np.flatnonzero(rated)], float)
    ridge = penalty * np.diag([0.0] + [1.0] * len(FEATURES))  # the intercept goes free
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + ridge
        w -= np.linalg.solve(hessian, x.T @ (p - y) + ridge @ w)
    return np.where(known, 1 / (1 + np.exp(-(z @ w))), np.nan)


def select(records: list[Record], criteria: Criteria = Criteria(), *,
           favourites: list[Record] | None = None,
           ratings: tuple[set[str], set[str]] | None = None) -> Selection:
    """The best records by `criteria`, white fraction within bounds, no thumbnail within
    `distinct` of a better pick's. The order: closest to the favourites when given, else
    closest to the target dimension (within the band) when given, else most intricate.
    Ties go to the smaller seed."""
    c = criteria
    shaped = [r for r in records if c.min_white <= r.scores["white_fraction"] <= c.max_white]
    if ratings:
        taste = learn_taste(shaped, *ratings)
        keys = {r.spec.id: -t for r, t in zip(shaped, taste)}
        near = [r for r in shaped if not np.isnan(keys[r.spec.id])
                and r.spec.id not in ratings[0] | ratings[1]]
    elif favourites:
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
    ranks: list[int] = []
    duplicates = 0
    for rank, record in enumerate(near, 1):
        if len(picks) == c.top:
            break
        if any(difference(record.thumbnail, p.thumbnail) < c.distinct for p in picks):
            duplicates += 1
        else:
            picks.append(record)
            ranks.append(rank)
    # shown as they read best: intricacy and taste up to 1, distances down to 0
    sign = -1.0 if ratings or (not favourites and c.target is None) else 1.0
    order = ("learned taste (probability of a like)" if ratings
             else "distance to the nearest favourite" if favourites
             else "intricacy" if c.target is None else f"|D - {c.target}|")
    return Selection(picks, len(records), len(records) - len(shaped), len(shaped) - len(near),
                     duplicates, keys=tuple(sign * float(keys[r.spec.id]) for r in picks),
                     ranks=tuple(ranks), order=order)


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


SELECT_MARK = b"# Picked by attnart select"  # what select's seeds files begin with


def check_out(out: Path, *, force: bool = False, catalog: Path | None = None,
              suffix: str = ".toml", marks: tuple[bytes, ...] = (SELECT_MARK,)) -> None:
    """Fail before any work when the output cannot go to `out`. The rule every command
    follows: a file attnart wrote (it holds one of `marks`, the command's own, in its first
    kilobyte) is replaced, any other only with `force`, and the catalog never."""
    if not out.parent.is_dir():
        raise OutputError(f"output folder {out.parent} does not exist; create it first")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder; give a file name ending in {suffix}")
    if out.exists():
        if catalog is not None and catalog.exists() and out.samefile(catalog):
            raise OutputError(f"output {out} is the catalog itself; give another file")
        if not force and not carries_mark(out, marks):
            raise OutputError(f"output {out} exists and was not written by attnart; choose "
                              "another name or use --force to replace it")


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


def load_ratings(path: Path, records: list[Record]) -> tuple[set[str], set[str]]:
    """The ids a ratings file likes and dislikes: TOML lists `liked` and `disliked` of
    artwork ids (strings) or seeds (integers: every record of that seed), as `attnart review`
    exports them; each must name a record, and two of each at least."""
    import tomllib

    try:
        data = tomllib.loads(read_input(path, "ratings file").decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(f"ratings file {path} is not TOML ({e}); write liked = [...] and "
                        "disliked = [...]") from None
    unknown = set(data) - {"liked", "disliked"}
    if unknown:
        raise SpecError(f"ratings file {path}: unknown key {sorted(unknown)[0]!r}; it holds "
                        "liked = [...] and disliked = [...]")
    by_seed: dict[int, set[str]] = {}
    for r in records:
        by_seed.setdefault(r.spec.seed, set()).add(r.spec.id)
    ids = {r.spec.id for r in records}
    found = []
    for key in ("liked", "disliked"):
        items = data.get(key, [])
        if not isinstance(items, list) or len(items) < 2:
            raise SpecError(f"ratings file {path}: {key} must list two artworks or more "
                            "(ids or seeds) for a taste to be learned")
        chosen = set()
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool) and item in by_seed:
                chosen |= by_seed[item]
            elif isinstance(item, str) and item in ids:
                chosen.add(item)
            else:
                raise SpecError(f"ratings file {path}: {key} names {item!r}, which is not in "
                                "the catalog; sweep it first or remove it")
        found.append(chosen)
    if found[0] & found[1]:
        raise SpecError(f"ratings file {path}: {sorted(found[0] & found[1])[0]} is both liked "
                        "and disliked")
    return found[0], found[1]


def pick(catalog: Path, out: Path | None, criteria: Criteria = Criteria(), *,
         force: bool = False, like: Path | None = None, learn: Path | None = None,
         device: str = "auto", progress: bool = False) -> Selection:
    """Select from `catalog` by `criteria` (or by likeness to the artworks of the seeds file
    `like`) and write the picks to `out` as a seeds file (with `out` None, only into
    `Selection.toml`)."""
    from generator.spec import load_seeds

    if like is not None and learn is not None:
        raise SpecError("give --like or --learn, not both: each is an order of its own")
    if out is not None:
        check_out(out, force=force, catalog=catalog)
    liked = load_seeds(like) if like is not None else []
    with open_catalog(catalog, readonly=True) as cat:
        records, size = cat.records(), cat.preview
    if not records:
        raise SpecError(f"catalog {catalog} holds no artworks yet; run attnart sweep first")
    favourites = favourite_records(liked, records, size, device=device, progress=progress)
    ratings = load_ratings(learn, records) if learn is not None else None
    selection = select(records, criteria, favourites=favourites, ratings=ratings)
    if not selection.picks:
        raise SpecError(f"none of the {len(records)} artworks in {catalog} meets the criteria "
                        "(widen --band, move --target-dimension or the white bounds); "
                        "nothing was written")
    source = (f" like the {len(liked)} of {like.name}" if liked
              else f" by the taste learned from {learn.name}" if learn is not None else "")
    heading = (f"Picked by attnart select from {catalog.name}{source}, {len(selection.picks)} "
               f"of {len(records)} artworks scored on {size}² previews:\n"
               f"{criteria.describe(len(liked))}.\n"
               "Fields left out take the command line's values, and those the defaults.")
    selection = dataclasses.replace(selection, toml=picks_toml(selection.picks, heading=heading))
    if out is not None:
        write_files({out: selection.toml.encode()})
    return selection
