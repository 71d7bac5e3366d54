"""`attnart sweep --cluster`: a real Dask cluster, started as a user would (`dask scheduler`
and two `dask worker` processes on 127.0.0.1), shared by the tests of this module."""

import os
import signal
import socket
import sqlite3
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
    from generator import curate as module

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


def test_losing_the_scheduler_stops_the_sweep_in_one_line_and_fails_no_seed(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    worker = subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--host",
                               "127.0.0.1", "--no-dashboard", "--memory-limit", "0"], **quiet)
    path = tmp_path / "c.sqlite"
    proc = None
    try:
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        proc = _start(address, path)
        _wait_for(path, 4, proc)
        scheduler.kill()
        lost = time.monotonic()
        out, err = proc.communicate(timeout=60)  # it used to wait forever
        waited = time.monotonic() - lost
    finally:
        for p in (proc, worker, scheduler):
            if p is not None:
                p.kill()
                p.wait()
    assert proc.returncode == 2 and out == "" and waited < 10, (waited, err)
    assert err == (f"attnart: error: lost the Dask scheduler at {address}; the sweep stopped, "
                   "its results so far are stored and the seeds in flight left for the next "
                   "run: start the scheduler again and rerun the command\n")
    with open_catalog(path, readonly=True) as cat:  # the seeds in flight: neither failed...
        assert 4 <= len(cat) < N and cat.failures() == []
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM claims").fetchone() == (0,)  # ...nor claimed
    conn.close()


def test_ctrl_c_stops_a_cluster_sweep_in_one_line(cluster, tmp_path):
    path = tmp_path / "c.sqlite"
    proc = _start(cluster[0], path)
    _wait_for(path, 4, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    with open_catalog(path, readonly=True) as cat:
        assert cat.failures() == []
        held = len(cat)
    assert proc.returncode == 130 and err == (
        f"attnart: interrupted; {path} holds {held} previews; run the same command again to "
        "resume\n")


def test_a_local_cluster_leaves_nothing_in_the_temporary_folder(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "sweep", "--seeds", "1-2", "--preview", "32",
         "--iterations", "10", "--catalog", str(tmp_path / "c.sqlite"), "--cluster", "local"],
        env=os.environ | {"TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert list(scratch.iterdir()) == []  # Dask's scratch space went with the cluster
