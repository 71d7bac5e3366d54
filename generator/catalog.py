"""The SQLite catalog of a sweep: one row per artwork, its spec, matrices and preview scores.

A catalog is a single SQLite file (WAL mode) marked as ours twice: the header's application
id, checked before SQLite ever opens the file, so a foreign database or a file of another
kind is refused untouched, and the schema version in `user_version`. Each record is written in
its own transaction, so a sweep killed at any moment (even `kill -9`) loses only the artworks
it was still computing, and the artwork id as primary key keeps every artwork in it once.

Schema versions: 1 (attnart 0.1's first sweeps) lacks the `image` column; such a catalog is
read as it is (its records have no image, and their scores lack the numbers added since), and
upgraded in place, in one transaction, when a sweep opens it for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from generator import __version__
from generator.errors import ArtError
from generator.spec import ArtworkSpec

APPLICATION_ID = int.from_bytes(b"attn", "big")  # PRAGMA application_id, header offset 68
SCHEMA_VERSION = 2  # PRAGMA user_version; bump with a migration in _MIGRATIONS
THUMBNAIL = 32  # side of the stored grey thumbnail that near-duplicate detection compares
IMAGE = 128  # largest side of the stored preview image that `attnart review` shows

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100  # bytes of the SQLite file header

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE artworks (
    id TEXT PRIMARY KEY,              -- ArtworkSpec.id of the full-resolution spec
    seed TEXT NOT NULL,               -- decimal: seeds reach 2**64 - 1, past SQLite's INTEGER
    spec TEXT NOT NULL,               -- canonical JSON of the full-resolution spec
    wq TEXT NOT NULL,                 -- JSON 2x2, the float32 values the render used
    wv TEXT NOT NULL,
    scores TEXT NOT NULL,             -- JSON of generator.score.Score, measured on the preview
    fractal_dimension REAL NOT NULL,  -- the headline scores again, for queries
    white_fraction REAL NOT NULL,
    thumbnail BLOB NOT NULL,          -- THUMBNAIL² grey bytes, row-major, image orientation
    seconds REAL NOT NULL,            -- drawing, rendering and scoring the preview
    created TEXT NOT NULL,            -- UTC, ISO 8601
    image BLOB                        -- PNG of the preview as scored (display size); v2
);
"""
# SQL that takes a catalog from version v - 1 to v, by v; run in one transaction.
_MIGRATIONS = {2: "ALTER TABLE artworks ADD COLUMN image BLOB;"}


class CatalogError(ArtError):
    """A catalog file that is not ours, is damaged, or does not fit the sweep."""


@dataclass(frozen=True)
class Record:
    """One artwork as a sweep saw it: scores and thumbnail come from its preview render."""

    spec: ArtworkSpec  # full resolution; the preview is this spec at the catalog's preview
    wq: list[list[float]]
    wv: list[list[float]]
    scores: dict  # generator.score.Score.as_dict()
    thumbnail: bytes  # THUMBNAIL * THUMBNAIL grey levels
    seconds: float
    image: bytes | None = None  # PNG of the preview as scored; None in version 1 catalogs


def _refuse_foreign(path: Path) -> None:
    """Raise unless `path` starts with an SQLite header carrying our application id."""
    try:
        with open(path, "rb") as f:
            header = f.read(_HEADER)
    except IsADirectoryError:
        raise CatalogError(f"catalog {path} is a folder; give a file") from None
    except OSError as e:
        raise CatalogError(f"catalog {path} cannot be read: {e.strerror}") from None
    if len(header) < _HEADER or not header.startswith(_MAGIC):
        raise CatalogError(f"{path} is not an attnart catalog (not an SQLite database); "
                           "it was left untouched, give another --catalog")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID:
        raise CatalogError(f"{path} is an SQLite database of another application "
                           f"(application id {app_id:#x}), not an attnart catalog; it was left "
                           "untouched, give another --catalog")


def _create(path: Path, preview: int) -> None:
    """Make a new catalog at `path` in one step: built beside it, then linked into place, so
    an interruption leaves no half-made catalog and an existing file is never replaced."""
    if not path.parent.is_dir():
        raise CatalogError(f"catalog folder {path.parent} does not exist; create it first")
    # a fresh name rather than mkstemp's file, so that SQLite creates it with the usual mode
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(_SCHEMA)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", "attnart catalog"), ("preview", str(preview)),
                ("created", _now()), ("created_by", f"attnart {__version__}")])
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        finally:
            conn.close()
        os.link(tmp, path)
    except FileExistsError:
        raise CatalogError(f"catalog {path} appeared while being created; run again") from None
    except (OSError, sqlite3.Error) as e:
        raise CatalogError(f"catalog {path} cannot be created: {e}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Catalog:
    """An open catalog; use `open_catalog` to get one, and close it (or use `with`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int):
        self.path = path
        self._conn = conn
        self.version = version  # schema version: SCHEMA_VERSION, or older when opened readonly
        meta = dict(self._query("SELECT key, value FROM meta"))
        if meta.get("format") != "attnart catalog" or not meta.get("preview", "").isdigit():
            raise CatalogError(f"catalog {path} lacks its format record; it is damaged")
        self.preview = int(meta["preview"])  # resolution every record's scores were measured at

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, params=()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"catalog {self.path} cannot be read: {e}") from None

    def __len__(self) -> int:
        return self._query("SELECT count(*) FROM artworks")[0][0]

    def ids(self) -> set[str]:
        return {row[0] for row in self._query("SELECT id FROM artworks")}

    def add(self, record: Record) -> bool:
        """Store `record` in a transaction of its own; False when its id is there already."""
        s = record.scores
        try:
            with self._conn:  # commits, or rolls back on any error
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO artworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.spec.id, str(record.spec.seed), _json(record.spec.canonical()),
                     _json(record.wq), _json(record.wv), _json(s),
                     s["fractal_dimension"], s["white_fraction"], record.thumbnail,
                     record.seconds, _now(), record.image))
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"catalog {self.path} cannot be written: {e}") from None
        return cursor.rowcount == 1

    def records(self) -> list[Record]:
        """Every record, oldest first."""
        image = "image" if self.version >= 2 else "NULL"
        rows = self._query(f"SELECT spec, wq, wv, scores, thumbnail, seconds, {image} "
                           "FROM artworks ORDER BY rowid")
        try:
            return [Record(ArtworkSpec.from_dict(json.loads(spec)), json.loads(wq),
                           json.loads(wv), json.loads(scores), bytes(thumbnail), seconds,
                           None if png is None else bytes(png))
                    for spec, wq, wv, scores, thumbnail, seconds, png in rows]
        except (ValueError, TypeError, ArtError) as e:
            raise CatalogError(f"catalog {self.path} holds a damaged record: {e}") from None


def _json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _checked(path: Path, conn: sqlite3.Connection, readonly: bool) -> Catalog:
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if not 1 <= version <= SCHEMA_VERSION:
            newer = "a newer" if version > SCHEMA_VERSION else "an unknown"
            raise CatalogError(f"catalog {path} has schema version {version}, from {newer} "
                               f"attnart; this one reads versions 1-{SCHEMA_VERSION}")
        if not readonly and version < SCHEMA_VERSION:
            _migrate(path, conn, version)
            version = SCHEMA_VERSION
        if readonly:
            # rather than SQLite's mode=ro, which would leave the WAL's files behind at close
            conn.execute("PRAGMA query_only = 1")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
            # A commit survives a killed process once in the WAL; fsyncs only guard against
            # power loss, which costs a sweep a few seeds at most.
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as e:
        raise CatalogError(f"catalog {path} is damaged: {e}") from None
    return Catalog(path, conn, version)


def _migrate(path: Path, conn: sqlite3.Connection, version: int) -> None:
    """Upgrade from `version` to SCHEMA_VERSION in one transaction: all of it, or nothing."""
    steps = "".join(_MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1))
    # executescript would commit each statement; the explicit transaction makes it one
    try:
        conn.executescript(f"BEGIN IMMEDIATE; {steps} PRAGMA user_version = {SCHEMA_VERSION}; "
                           "COMMIT;")
    except BaseException as e:
        if conn.in_transaction:
            conn.rollback()
        if isinstance(e, sqlite3.DatabaseError):
            raise CatalogError(f"catalog {path} cannot be upgraded from schema version "
                               f"{version}: {e}; it was left as it was") from None
        raise


def open_catalog(path: Path, *, preview: int | None = None, readonly: bool = False) -> Catalog:
    """Open the catalog at `path`, refusing any file that is not one.

    With `preview` given, a missing catalog is created for previews of that resolution, and
    an existing one must have been swept at it: scores measured at different resolutions do
    not compare.
    """
    path = Path(path)
    if not path.exists():
        if preview is None:
            raise CatalogError(f"catalog {path} does not exist; run attnart sweep first")
        _create(path, preview)
    _refuse_foreign(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.DatabaseError as e:
        raise CatalogError(f"catalog {path} cannot be opened: {e}") from None
    try:
        catalog = _checked(path, conn, readonly)
    except BaseException:
        conn.close()
        raise
    if preview is not None and preview != catalog.preview:
        catalog.close()
        raise CatalogError(f"catalog {path} holds previews at {catalog.preview}², not {preview}²; "
                           f"use --preview {catalog.preview} or another catalog")
    return catalog
