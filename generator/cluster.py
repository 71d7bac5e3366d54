"""A sweep's tasks on a Dask distributed cluster: `attnart sweep --cluster ADDRESS|local`.

The driver (this process) reads the seed list, skips what the catalog holds, submits tasks of
`batch` seeds each and writes the results into the catalog as they finish; workers hold no
state, so a worker lost mid-sweep only has its tasks run again elsewhere (Dask's scheduler
does that), and each seed is stored once (the artwork id is the catalog's primary key). A
task is `curate.preview_batch`: on a worker process the kernels stay loaded (and Triton's
compiled code cached) between tasks, so only the first task pays for them. A task that
takes down a worker every time it runs (Dask gives up after 3) has its seeds recorded as
failed, like a seed whose preview raises. Tasks that render
on a GPU ask for one of the worker's `GPU` resources (`dask worker --resources GPU=1`), so a
GPU never runs two at once.
"""

from __future__ import annotations

from generator.catalog import Failure
from generator.curate import preview_batch
from generator.errors import ArtError

INSTALL = "pip install 'attention-art[cluster]'"
CPU_BATCH = 4  # seeds per task on CPU workers: 0.1-1 s each, far above the scheduler's ~1 ms
GPU_BATCH = 64  # on a GPU a 256² preview takes milliseconds: batch them to stay busy


class ClusterError(ArtError):
    """No Dask, or no cluster at the address given."""


def _client(address: str):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError(f"--cluster needs Dask's distributed scheduler; install it with "
                           f"{INSTALL}") from None
    if address == "local":
        # one single-threaded process per core: the kernels are OpenMP-parallel, but scoring
        # and drawing are serial, so processes keep every core busy (see curate.default_workers)
        return Client(LocalCluster(threads_per_worker=1, dashboard_address=None))
    try:
        return Client(address, timeout=5)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"no Dask scheduler answers at {address} ({e}); start one with "
                           "`dask scheduler`, or use --cluster local") from None


class DaskPool:
    """The same interface as `curate.LocalPool`, over a Dask client."""

    def __init__(self, address: str, device: str, batch: int | None):
        self._client = _client(address)
        self._resources = {"GPU": 1} if device == "cuda" else None
        self.batch = batch or (GPU_BATCH if device == "cuda" else CPU_BATCH)
        self._futures = set()  # a future no one holds would be cancelled by Dask

    @property
    def slots(self) -> int:
        # every worker thread busy with one task and one queued behind it
        return max(4, 2 * sum(self._client.nthreads().values()))

    def submit(self, specs, resolution, device, backend, put) -> None:
        future = self._client.submit(preview_batch, specs, resolution, device, backend,
                                     resources=self._resources, pure=False)
        self._futures.add(future)

        def result():
            try:
                return future.result()
            except Exception as e:  # e.g. KilledWorker: the task took down a worker 3 times
                message = f"the cluster gave up on it: {type(e).__name__}: {e}"
                return [Failure(spec, message) for spec in specs]

        def finished(f):
            self._futures.discard(f)
            put(result)
        future.add_done_callback(finished)

    def close(self, finished: bool) -> None:
        if not finished:
            self._client.cancel(list(self._futures))
        cluster = self._client.cluster if hasattr(self._client, "cluster") else None
        self._client.close()
        if cluster is not None:
            cluster.close()
