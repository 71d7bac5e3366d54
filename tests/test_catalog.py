import hashlib
import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from catalog_v1 import V1_SCORES, write_v1

from generator.catalog import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    THUMBNAIL,
    CatalogError,
    Record,
    open_catalog,
)
from generator.cli import main
from generator.score import ESTIMATOR
from generator.spec import ArtworkSpec


def record(seed=1, dimension=1.4, white=0.5, thumbnail=None, scores=None, image=None,
           **spec) -> Record:
    """A record as a sweep would store it, with made-up scores; unless given, the thumbnail is
    noise drawn from the seed, far from any other seed's."""
    scores = {"fractal_dimension": dimension, "white_fraction": white, "r2": 0.99} | (scores or {})
    if thumbnail is None:
        thumbnail = np.random.default_rng(seed).integers(0, 256, THUMBNAIL**2, np.uint8).tobytes()
    return Record(ArtworkSpec(seed=seed, **spec), [[1.0, 0.0], [0.0, 1.0]],
                  [[0.5, -0.25], [0.125, 2.0]], scores, thumbnail, 0.25, image)


def test_records_round_trip(tmp_path):
    path = tmp_path / "c.sqlite"
    first, second = record(1, image=b"png"), record(2**64 - 1, init="per-point", wq="identity")
    with open_catalog(path, preview=64) as cat:
        assert cat.add(first) and cat.add(second)
    with open_catalog(path, readonly=True) as cat:
        assert cat.preview == 64 and len(cat) == 2
        assert cat.ids() == {first.spec.id, second.spec.id}
        assert cat.records() == [first, second]


def test_an_artwork_is_stored_once(tmp_path):
    path = tmp_path / "c.sqlite"
    with open_catalog(path, preview=64) as cat:
        assert cat.add(record(7))
        assert not cat.add(record(7, dimension=1.9))  # same spec, same id
        assert len(cat) == 1 and cat.records()[0].scores["fractal_dimension"] == 1.4


def test_catalog_is_marked_as_ours(tmp_path):
    path = tmp_path / "c.sqlite"
    open_catalog(path, preview=64).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    conn.close()


def test_a_version_1_catalog_reads_as_it_is_and_upgrades_when_swept(tmp_path):
    path = tmp_path / "old.sqlite"
    old = [record(s, scores=V1_SCORES | {"white_fraction": 0.5}) for s in (3, 1, 2)]
    write_v1(path, 64, old)
    before = path.read_bytes()
    with open_catalog(path, readonly=True) as cat:  # select, review: read, never upgrade
        assert cat.version == 1 and cat.records() == old  # images None, scores as stored
    assert path.read_bytes() == before
    with open_catalog(path, preview=64) as cat:  # a sweep: upgraded in place, once
        assert cat.version == SCHEMA_VERSION and cat.records() == old
        assert cat.add(record(9, image=b"png"))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    with open_catalog(path, readonly=True) as cat:
        assert [r.image for r in cat.records()] == [None, None, None, b"png"]
        assert [r.spec.seed for r in cat.records()] == [3, 1, 2, 9]


@pytest.mark.parametrize("version", [3, 4, 5])
def test_an_older_catalog_is_rescored_from_its_previews_when_swept(tmp_path, version):
    """Schemas 3 to 5: each stored preview image is scored again by the present estimator
    (no rendering), its headline replaced and the rest kept; readers see it unchanged
    before."""
    import io

    from PIL import Image

    from generator.score import score

    rng = np.random.default_rng(2)
    y, x = np.mgrid[:128, :128] / 128
    speckled = rng.random((128, 128)) < np.clip(0.5 - (np.hypot(y - .5, x - .5) - .3) / .1, 0, 1)
    png = io.BytesIO()
    Image.fromarray(np.where(speckled, 255, 0).astype(np.uint8)).save(png, format="PNG")
    old = {"fractal_dimension": 1.77, "white_fraction": 0.3, "r2": 0.9, "box_sizes": [2, 8],
           "grey_entropy": 4.5}
    path = tmp_path / "v3.sqlite"
    with open_catalog(path, preview=256) as cat:
        cat.add(record(5, scores=old, image=png.getvalue()))
        cat.add(record(6, scores=old))  # no image (as in schema 1): kept as it is
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    with open_catalog(path, readonly=True) as cat:
        assert [r.scores for r in cat.records()] == [old, old]
    with open_catalog(path, preview=256) as cat:
        rescored, kept = cat.records()
    fresh = score(speckled, display=128)
    assert rescored.scores["fractal_dimension"] == fresh.fractal_dimension != 1.77
    assert rescored.scores["regime"] == "speckled" and rescored.scores["resolution"] == 128
    assert rescored.scores["estimator"] == ESTIMATOR
    assert rescored.scores["grey_entropy"] == 4.5 and kept.scores == old
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT fractal_dimension FROM artworks WHERE seed = '5'").fetchone()[
        0] == fresh.fractal_dimension
    conn.close()


def test_a_failed_upgrade_changes_nothing(tmp_path, monkeypatch):
    from generator import catalog

    path = tmp_path / "old.sqlite"
    write_v1(path, 64, [record(1, scores=V1_SCORES)])
    monkeypatch.setitem(catalog._MIGRATIONS, 2, "ALTER TABLE artworks ADD COLUMN image BLOB; "
                        "ALTER TABLE nowhere ADD COLUMN x;")
    with pytest.raises(CatalogError, match="cannot be upgraded from schema version 1"):
        open_catalog(path, preview=64)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "image" not in [c[1] for c in conn.execute("PRAGMA table_info(artworks)")]
    conn.close()


def test_missing_catalog_is_not_created_for_reading(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        open_catalog(tmp_path / "none.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_catalog_of_another_preview_size_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    open_catalog(path, preview=64).close()
    with pytest.raises(CatalogError, match="use --preview 64"):
        open_catalog(path, preview=128)


def test_catalog_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    open_catalog(path, preview=64).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CatalogError, match=f"schema version {SCHEMA_VERSION + 1}, from a newer"):
        open_catalog(path, preview=64)


def _foreign_sqlite(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE artworks (id TEXT PRIMARY KEY, seed INTEGER)")
    conn.execute("INSERT INTO artworks VALUES ('x', 1)")
    conn.commit()
    conn.close()


def _damaged_catalog(path):
    with open_catalog(path, preview=64) as cat:
        for seed in range(20):
            cat.add(record(seed))
    data = bytearray(path.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # every page after the first zeroed
    path.write_bytes(bytes(data))


BAD_FILES = {
    "random bytes": lambda path: path.write_bytes(bytes(range(256)) * 64),
    "empty file": lambda path: path.write_bytes(b""),
    "text file": lambda path: path.write_text("seed,score\n1,1.4\n"),
    "foreign sqlite": _foreign_sqlite,
    "damaged catalog": _damaged_catalog,
}


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_catalog_files_are_refused_and_left_untouched(tmp_path, make):
    path = tmp_path / "c.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(CatalogError) as error:
        with open_catalog(path, preview=64) as cat:
            cat.records()
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.sqlite"]


@pytest.mark.parametrize("command", ["sweep", "select"])
def test_cli_refuses_foreign_files_in_one_line(tmp_path, capsys, command):
    corrupt, foreign = tmp_path / "corrupt.sqlite", tmp_path / "foreign.sqlite"
    corrupt.write_bytes(bytes(range(256)) * 64)
    _foreign_sqlite(foreign)
    for path, message in ((corrupt, "not an SQLite database"), (foreign, "another application")):
        before = path.read_bytes()
        extra = (["--seeds", "1-3", "--preview", "32", "--quiet"] if command == "sweep"
                 else ["--out", str(tmp_path / "picks.toml")])
        assert main([command, "--catalog", str(path), *extra]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0]
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.sqlite", "foreign.sqlite"]


def _beside(path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_readers_write_nothing_and_leave_no_files(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    with open_catalog(path, preview=32) as cat:  # a sweep: WAL while it writes
        cat.add(record(1))
        assert _beside(path) == ["c.sqlite", "c.sqlite-shm", "c.sqlite-wal"]
        with open_catalog(path, readonly=True) as reader:  # reading beside a running sweep
            assert len(reader) == 1
    assert _beside(path) == ["c.sqlite"]
    assert path.read_bytes()[18] == 1  # rollback journal at rest
    old = tmp_path / "old.sqlite"
    write_v1(old, 32, [record(2, scores=V1_SCORES)])  # left in WAL mode by attnart 0.1
    for catalog in (path, old):
        before = catalog.read_bytes()
        for args in (["catalog", "ls"], ["catalog", "show", "1" if catalog == path else "2"],
                     ["select", "--min-white", "0", "-o", "-"],
                     ["review", "--out", str(tmp_path / "r.html"), "--force"]):
            assert main([*args, "--catalog", str(catalog)]) == 0, capsys.readouterr().err
        assert catalog.read_bytes() == before
    assert _beside(path) == ["c.sqlite", "old.sqlite", "r.html"]


def test_a_read_only_catalog_is_read_and_a_sweep_says_why_it_cannot_write(
        tmp_path, capsys, monkeypatch):
    path = tmp_path / "c.sqlite"
    with open_catalog(path, preview=32) as cat:
        cat.add(record(1))
    before = path.read_bytes()
    real = os.access
    # tests run as root, whom chmod does not stop: the refusal a user would meet, simulated
    for refused, what in ((path, "file"), (tmp_path, "folder")):
        monkeypatch.setattr(os, "access", lambda p, mode, refused=refused: (
            False if Path(p) == refused and mode == os.W_OK else real(p, mode)))
        assert main(["catalog", "ls", "--catalog", str(path)]) == 0
        assert main(["sweep", "--seeds", "1-3", "--catalog", str(path), "--preview", "32",
                     "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"cannot be written: its {what} {refused} is read-only" in err
        assert err.count("\n") == 1 and "make it writable" in err
        assert path.read_bytes() == before and _beside(path) == ["c.sqlite"]


def _old_id(spec: ArtworkSpec) -> str:
    """The id before `spec.profile_matters`: every field counted."""
    text = json.dumps(spec.canonical(), sort_keys=True, separators=(",", ":"))
    return f"{spec.seed}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def test_old_ids_are_recomputed_and_duplicates_merged_on_upgrade(tmp_path):
    path = tmp_path / "old.sqlite"
    t4, a100 = {"cuda_sms": 40, "cuda_threads_per_sm": 1024}, {"cuda_sms": 108,
                                                               "cuda_threads_per_sm": 2048}
    shared = [record(1, init="shared", **t4), record(1, init="shared", **a100)]  # same pixels
    wide = [record(2, init="per-point", **t4), record(2, init="per-point", **a100)]  # differ
    assert not shared[0].spec.profile_matters and wide[0].spec.profile_matters
    write_v1(path, 64, [shared[0], *wide, record(3, rng="cpu", **t4)])
    conn = sqlite3.connect(path)
    for rowid, spec in conn.execute("SELECT rowid, spec FROM artworks").fetchall():
        conn.execute("UPDATE artworks SET id = ? WHERE rowid = ?",
                     (_old_id(ArtworkSpec.from_dict(json.loads(spec))), rowid))
    # the other profile's twin, which had an id of its own then
    conn.execute("INSERT INTO artworks SELECT ?, seed, ?, wq, wv, scores, fractal_dimension, "
                 "white_fraction, thumbnail, seconds, created FROM artworks WHERE rowid = 1",
                 (_old_id(shared[1].spec), json.dumps(shared[1].spec.canonical())))
    conn.commit()
    conn.close()
    with open_catalog(path, readonly=True) as cat:
        assert len(cat) == 5  # read as it is
    with open_catalog(path, preview=64) as cat:
        records = cat.records()
        assert cat.ids() == {r.spec.id for r in records} and len(records) == 4
    assert [r.spec.seed for r in records] == [1, 2, 2, 3]
    assert records[0].spec == shared[0].spec  # of the two, the older stays
    assert {records[1].spec.id, records[2].spec.id} == {_old_id(w.spec) for w in wide}
    assert main(["sweep", "--seeds", "1", "--init", "shared", "--cuda-sms", "108",
                 "--cuda-threads-per-sm", "2048",
                 "--catalog", str(path), "--preview", "64", "--quiet"]) == 0
    with open_catalog(path, readonly=True) as cat:
        assert len(cat) == 4  # seed 1 shared is there, whatever the profile


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_claims_of_a_sweep_that_is_gone_are_taken_over(tmp_path):
    import signal
    import socket
    import subprocess
    import sys

    from generator.catalog import claimant

    path = tmp_path / "c.sqlite"
    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    start = Path(f"/proc/{gone.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    try:
        with open_catalog(path, preview=64) as cat:
            assert cat.claim(["a", "b"], f"{host}:{gone.pid}:{start}.0001") == {"a", "b"}
            assert cat.claim(["a"], claimant()) == set()  # a live sweep's claim holds
            os.kill(gone.pid, signal.SIGKILL)
            while Path(f"/proc/{gone.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                pass  # killed, not reaped: the pid is still there, as a zombie
            assert cat.claim(["a"], claimant()) == {"a"}
            # a pid used again by another process: not the sweep that claimed
            assert cat.claim(["c"], f"{host}:{os.getpid()}:1.0002") == {"c"}
            assert cat.claim(["c"], claimant()) == {"c"}
    finally:
        gone.kill()
        gone.wait()


def test_a_catalog_that_fails_the_integrity_check_is_refused_by_every_command(
        tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    with open_catalog(path, preview=64) as cat:
        cat.add_results([record(s, image=os.urandom(3000)) for s in range(1, 31)])
    data = bytearray(path.read_bytes())
    # a leaf page of the artworks table (type 0x0d, past the tables' roots) zeroed: a sweep
    # of stored seeds reads only the index, so only SQLite's own check sees the damage
    page = next(n for n in range(12, len(data) // 4096) if data[n * 4096] == 0x0D)
    data[page * 4096:(page + 1) * 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    for args in (["sweep", "--seeds", "1-30", "--preview", "64", "--quiet"], ["catalog", "ls"],
                 ["select", "-o", "-"], ["review", "-o", str(tmp_path / "r.html")]):
        assert main([*args, "--catalog", str(path)]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is damaged (SQLite's integrity check: Page" in err
    assert path.read_bytes() == bytes(data)
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite"]


def test_catalog_failures_prints_one_line_per_seed(tmp_path, capsys):
    from generator.catalog import Failure

    path = tmp_path / "c.sqlite"
    message = ("the cluster gave up on it: KilledWorker: Attempted to run task 'x' 3 times\n\n"
               "See https://distributed.dask.org/en/stable/killed.html\r\n\x1b[31mred\x1b[0m")
    with open_catalog(path, preview=64) as cat:
        cat.add_results([Failure(ArtworkSpec(seed=s), message) for s in (1, 2)])
    assert main(["catalog", "failures", "--catalog", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("seed 1 ") and "\x1b" not in lines[0]
    assert lines[0].endswith("3 times See https://distributed.dask.org/en/stable/killed.html "
                             "[31mred [0m")
