"""`attnart sweep --cluster`: a real Dask cluster, started as a user would (`dask scheduler`
and two `dask worker` processes on 127.0.0.1), shared by the tests of this module."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_curate import _count

from generator.catalog import open_catalog
from generator.cli import main

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")  # comes with distributed

DASK = str(Path(sys.executable).with_name("dask"))
# Enough work (about 3 s on an idle 2-core machine) that a sweep is still running when a test
# stops part of it: the driver writes a batch at most four times a second.
SWEEP = ["sweep", "--iterations", "100", "--preview", "96", "--quiet"]
N = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The scheduler's address, and the two worker (nanny) processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": open(logs / "log", "w"),
             "cwd": logs}
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **quiet)]
    procs += [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--host",
                                "127.0.0.1", "--no-dashboard", "--memory-limit", "0"], **quiet)
              for _ in range(2)]
    try:
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _records(path):
    with open_catalog(path, readonly=True) as cat:
        return {r.spec.id: r for r in cat.records()}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """Seeds 1-N swept locally: what a cluster must reproduce."""
    path = tmp_path_factory.mktemp("local") / "c.sqlite"
    assert main([*SWEEP, "--seeds", f"1-{N}", "--catalog", str(path), "--workers", "1"]) == 0
    return _records(path)


def _same(records, local):
    assert records.keys() == local.keys()
    for key, record in records.items():  # bit-identical labels (the stored preview), scores
        mine = local[key]
        assert (record.image, record.thumbnail, record.scores, record.wq) == (
            mine.image, mine.thumbnail, mine.scores, mine.wq)


def _start(address, path, *extra):
    return subprocess.Popen([sys.executable, "-m", "generator.cli", *SWEEP, "--seeds", f"1-{N}",
                             "--catalog", str(path), "--cluster", address, "--batch", "2",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for(path, count, proc):
    deadline = time.monotonic() + 120
    while _count(path) < count and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it was caught in the middle"


def test_a_worker_killed_mid_sweep_loses_nothing(cluster, local, tmp_path):
    address, workers = cluster
    path = tmp_path / "c.sqlite"
    proc = _start(address, path)
    _wait_for(path, 4, proc)
    victim = psutil.Process(workers[0].pid).children()[0]  # the nanny's worker process
    victim.send_signal(signal.SIGKILL)  # the nanny starts another
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.startswith(f"{N} rendered") or " already there" in out
    _same(_records(path), local)


def test_the_driver_killed_mid_sweep_resumes(cluster, local, tmp_path):
    address, _ = cluster
    path = tmp_path / "c.sqlite"
    proc = _start(address, path)
    _wait_for(path, 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = _records(path)
    assert 4 <= len(first) < N
    proc = _start(address, path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.startswith(f"{N - len(first)} rendered") and f"{len(first)} already" in out
    _same(_records(path), local)
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite"]


def test_without_dask_cluster_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert main([*SWEEP, "--seeds", "1", "--catalog", str(tmp_path / "c.sqlite"),
                 "--cluster", "local"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'attention-art[cluster]'" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_no_scheduler_at_the_address_is_one_line(tmp_path, capsys):
    assert main([*SWEEP, "--seeds", "1", "--catalog", str(tmp_path / "c.sqlite"),
                 "--cluster", f"tcp://127.0.0.1:{_free_port()}"]) == 2
    err = capsys.readouterr().err
    assert "no Dask scheduler answers" in err and err.count("\n") == 1


def test_a_task_the_cluster_gives_up_on_records_its_seeds_as_failed(
        cluster, tmp_path, capsys, monkeypatch):
    from generator import cluster as module

    def crashing(specs, *args):
        raise RuntimeError("the worker died 3 times")
    monkeypatch.setattr(module, "preview_batch", crashing)  # as a task that kills workers
    path = tmp_path / "c.sqlite"
    assert main([*SWEEP, "--seeds", "1-3", "--catalog", str(path), "--cluster", cluster[0]]
                ) == 0
    assert "0 rendered" in capsys.readouterr().out
    assert main(["catalog", "failures", "--catalog", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(
        "the cluster gave up on it: RuntimeError: the worker died 3 times" in s for s in lines)
