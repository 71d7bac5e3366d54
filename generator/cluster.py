"""A sweep's tasks on a Dask distributed cluster: `attnart sweep --cluster ADDRESS|local`.

The driver (this process) reads the seed list, skips what the catalog holds, submits tasks of
`batch` seeds each and writes the results into the catalog as they finish; workers hold no
state, so a worker lost mid-sweep only has its tasks run again elsewhere (Dask's scheduler
does that), and each seed is stored once (the artwork id is the catalog's primary key). A
task is the work function the sweep hands over (`curate.preview_batch`): on a worker process
the kernels stay loaded (and Triton's compiled code cached) between tasks, so only the first
task pays for them. A task that takes down a worker every time it runs (Dask gives up after
3) has its seeds recorded as failed, like a seed whose preview raised. Losing the scheduler
itself stops the sweep at once with `ClusterError`: the client's futures are gone with it
(cancelled, or never to finish once the client closes), so the seeds in flight are left
unclaimed for the next run, never recorded as failed. Tasks that render
on a GPU ask for one of the worker's `GPU` resources (`dask worker --resources GPU=1`), so a
GPU never runs two at once.
"""

from __future__ import annotations

import logging
import tempfile

from generator.catalog import Failure
from generator.errors import ArtError

INSTALL = "pip install 'attention-art[cluster]'"
CPU_BATCH = 4  # seeds per task on CPU workers: 0.1-1 s each, far above the scheduler's ~1 ms
GPU_BATCH = 64  # on a GPU a 256² preview takes milliseconds: batch them to stay busy
FETCH = 30.0  # seconds to fetch a finished task's results (< 1 MB) before the scheduler is
# taken for lost: Dask's own connect and TCP timeouts


class ClusterError(ArtError):
    """No Dask, or no cluster at the address given."""


def _client(address: str, scratch: str):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError(f"--cluster needs Dask's distributed scheduler; install it with "
                           f"{INSTALL}") from None
    if address == "local":
        # one single-threaded process per core: the kernels are OpenMP-parallel, but scoring
        # and drawing are serial, so processes keep every core busy (see curate.default_workers);
        # the workers' scratch space in `scratch`, which the pool removes when it closes
        import dask

        dask.config.set({"temporary-directory": scratch})  # the scheduler's and nannies' too
        return Client(LocalCluster(threads_per_worker=1, dashboard_address=None,
                                   local_directory=scratch))
    try:
        return Client(address, timeout=5)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"no Dask scheduler answers at {address} ({e}); start one with "
                           "`dask scheduler`, or use --cluster local") from None


def _cancelled_futures(record: logging.LogRecord) -> bool:
    """A logging filter: drop the records of futures cancelled on purpose, keep the rest."""
    error = record.exc_info[1] if record.exc_info else None
    return type(error).__name__ not in ("FutureCancelledError", "CancelledError")


class DaskPool:
    """The same interface as `curate.LocalPool`, over a Dask client."""

    def __init__(self, address: str, device: str, batch: int | None):
        self.address = address
        self._scratch = tempfile.TemporaryDirectory(prefix="attnart-dask-")
        try:
            self._client = _client(address, self._scratch.name)
        except BaseException:
            self._scratch.cleanup()
            raise
        self._resources = {"GPU": 1} if device == "cuda" else None
        self.batch = batch or (GPU_BATCH if device == "cuda" else CPU_BATCH)
        self._futures = set()  # a future no one holds would be cancelled by Dask
        self._gone = False  # the scheduler was lost
        self._closing = False  # the futures still running are cancelled: no one waits

    @property
    def slots(self) -> int:
        # every worker thread busy with one task and one queued behind it
        return max(4, 2 * sum(self._client.nthreads().values()))

    def _lost(self) -> ClusterError:
        self._gone = True
        return ClusterError(f"lost the Dask scheduler at {self.address}; the sweep stopped, "
                            "its results so far are stored and the seeds in flight left for "
                            "the next run: start the scheduler again and rerun the command")

    def submit(self, work, specs, args, put) -> None:
        future = self._client.submit(work, specs, *args, resources=self._resources,
                                     pure=False)
        self._futures.add(future)

        def finished(f):
            # Dask's callback thread fetches the results, so the sweep's thread never waits
            # inside Dask: a Ctrl-C there interrupts no Dask call (which logs a traceback)
            self._futures.discard(f)
            if not self._closing:  # else fetching a cancelled task's results fails, logged
                put(self._outcome(f, specs))
        future.add_done_callback(finished)

    def _outcome(self, future, specs):
        """A function returning the task's results, its seeds' failures when the cluster
        gave up on it, or raising ClusterError when the scheduler is lost."""
        from distributed.client import ClosedClientError
        from distributed.utils import CancelledError

        try:
            if future.status == "error":  # e.g. KilledWorker: it took down a worker 3 times
                e = future.exception(timeout=FETCH)
                failures = [Failure(spec, f"the cluster gave up on it: {type(e).__name__}: {e}")
                            for spec in specs]
                return lambda: failures
            results = future.result(timeout=FETCH)
            return lambda: results
        # cancelled by the client losing the scheduler (we cancel only at close), or done
        # but its results unreachable (CommClosedError is an OSError): nothing failed
        except (OSError, CancelledError, ClosedClientError):
            lost = self._lost()

            def again():
                raise lost
            return again

    def check(self) -> None:
        """Raise once the client has given up on the scheduler: none of its futures will
        ever finish (it retries for its connect timeout first)."""
        if self._client.status in ("closing", "closed"):
            raise self._lost()

    def close(self, finished: bool) -> None:
        self._closing = True
        cluster = getattr(self._client, "cluster", None)
        lost = self._gone or self._client.status != "running"
        # closing a client that is still trying to reconnect makes Dask log the retry's
        # cancellation as an error, traceback and all: the sweep says what happened itself
        logging.disable(logging.ERROR)
        try:
            if not finished and not lost:
                # Dask's own tasks that awaited the futures cancelled here end with an error
                # no one retrieves, which asyncio logs when they are collected, at exit
                logging.getLogger("asyncio").addFilter(_cancelled_futures)
                self._client.cancel(list(self._futures))
            self._client.close()
        finally:
            logging.disable(logging.NOTSET)
        if cluster is not None:
            cluster.close()
        self._scratch.cleanup()
