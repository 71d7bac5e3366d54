import sqlite3

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
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
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
        assert cat.version == 2 and cat.records() == old
        assert cat.add(record(9, image=b"png"))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
    with open_catalog(path, readonly=True) as cat:
        assert [r.image for r in cat.records()] == [None, None, None, b"png"]
        assert [r.spec.seed for r in cat.records()] == [3, 1, 2, 9]


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
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with pytest.raises(CatalogError, match="schema version 3, from a newer"):
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
