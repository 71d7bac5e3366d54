"""The SQLite catalog of a sweep: one row per artwork, its spec, matrices and preview scores.

A catalog is a single SQLite file marked as ours twice: the header's application id, checked
before SQLite ever opens the file, so a foreign database or a file of another kind is refused
untouched, and the schema version in `user_version`. At rest it is in rollback-journal mode,
so readers (`select`, `review`, `catalog`) open it read-only (`mode=ro`) and leave no files
beside it, even in a read-only folder; a sweep switches it to WAL while it writes (readers
and a second sweep go on meanwhile) and back when it closes. Records are written in small
transactions as they arrive, so a sweep killed at any moment (even `kill -9`) loses only the
artworks it was still computing, and the artwork id as primary key keeps every artwork in it
once. A writer waits up to LOCK_WAIT seconds for another's lock rather than fail.

Schema versions: 1 (attnart 0.1's first sweeps) lacks the `image` column; 2 lacks the
`failures` and `screens` tables and holds ids that counted the CUDA profile where it cannot
change the pixels. An older catalog is read as it is, and upgraded in place, in one
transaction, when a sweep opens it for writing: ids are recomputed from the stored specs, and
of two rows that now share an id the older is kept. Version 3 holds fractal dimensions of the
estimator before issue 24 (a 50 % threshold of the halved preview), version 4 those of its
first estimator, version 5 those of its second; version 6 re-scores them by the present one
(`score.ESTIMATOR`) from each stored preview image, whose side `resolution` then gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from generator import __version__
from generator.errors import ArtError
from generator.spec import ArtworkSpec

APPLICATION_ID = int.from_bytes(b"attn", "big")  # PRAGMA application_id, header offset 68
SCHEMA_VERSION = 6  # PRAGMA user_version; bump with a migration in _MIGRATIONS
THUMBNAIL = 32  # side of the stored grey thumbnail that near-duplicate detection compares
IMAGE = 128  # largest side of the stored preview image that `attnart review` shows

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100  # bytes of the SQLite file header
_WAL = 2  # header byte 18, the file format's write version: 2 while in WAL mode
LOCK_WAIT = 300.0  # seconds a writer waits for another's lock; transactions last milliseconds

_V3_TABLES = """
CREATE TABLE failures (               -- seeds whose preview raised (sweep --retry-failed)
    id TEXT PRIMARY KEY,
    seed TEXT NOT NULL,
    spec TEXT NOT NULL,
    resolution INTEGER NOT NULL,      -- the rung or preview size it failed at
    message TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE screens (                -- every screening rung's preview scores
    id TEXT NOT NULL,
    resolution INTEGER NOT NULL,
    spec TEXT NOT NULL,
    scores TEXT NOT NULL,             -- JSON of generator.score.Score at this resolution
    rank REAL,                        -- intricacy percentile among the rung's seeds, 0..1
    kept INTEGER,                     -- 1: went on to the next rung, NULL until the cut
    created TEXT NOT NULL,
    PRIMARY KEY (id, resolution)
);
CREATE TABLE claims (                 -- seeds a running sweep is computing, for another one
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,              -- host:pid:token of the claiming sweep
    at REAL NOT NULL                  -- Unix time of the claim
);
"""
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
""" + _V3_TABLES


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


@dataclass(frozen=True)
class Failure:
    """A seed whose preview raised: recorded with its message, not retried unless asked."""

    spec: ArtworkSpec
    message: str


def _refuse_foreign(path: Path) -> None:
    """Raise unless `path` is a regular file starting with an SQLite header carrying our
    application id (a FIFO would block the open, a device never end or be written)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise CatalogError(f"catalog {path} is a folder; give a file")
        if not stat.S_ISREG(mode):
            raise CatalogError(f"catalog {path} is not a regular file (a FIFO, socket or "
                               "device); give the path of a catalog file")
        with open(path, "rb") as f:
            header = f.read(_HEADER)
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
    an interruption leaves no half-made catalog and an existing file is never replaced (one
    made meanwhile by a sweep started at the same moment is used as it is)."""
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
        pass  # another sweep's, complete when linked: the preview check follows
    except (OSError, sqlite3.Error) as e:
        raise CatalogError(f"catalog {path} cannot be created: {_reason(e)}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _reason(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Catalog:
    """An open catalog; use `open_catalog` to get one, and close it (or use `with`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int, readonly: bool):
        self.path = path
        self._conn = conn
        self.version = version  # schema version: SCHEMA_VERSION, or older when opened readonly
        self.readonly = readonly
        meta = dict(self._query("SELECT key, value FROM meta"))
        if meta.get("format") != "attnart catalog" or not meta.get("preview", "").isdigit():
            raise CatalogError(f"catalog {path} lacks its format record; it is damaged")
        self.preview = int(meta["preview"])  # resolution every record's scores were measured at

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self.readonly:
            # back to a rollback journal at rest, so readers need no -wal/-shm files; while
            # another sweep still writes, this fails at once and that one switches at its close
            with contextlib.suppress(sqlite3.DatabaseError):
                self._conn.execute("PRAGMA busy_timeout = 0")
                self._conn.execute("PRAGMA journal_mode = DELETE")
        self._conn.close()

    def _query(self, sql: str, params=()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"catalog {self.path} cannot be read: {e}") from None

    def _write(self, statements: list[tuple[str, list]]) -> list[int]:
        """Run each (sql, rows) with executemany, all in one transaction; rows each changed."""
        try:
            with self._conn:  # commits, or rolls back on any error
                changed = [self._conn.executemany(sql, rows).rowcount
                           for sql, rows in statements]
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"catalog {self.path} cannot be written: {e}") from None
        return changed

    def __len__(self) -> int:
        return self._query("SELECT count(*) FROM artworks")[0][0]

    def ids(self) -> set[str]:
        return {row[0] for row in self._query("SELECT id FROM artworks")}

    def _among(self, sql: str, ids: list[str], params=()) -> list[tuple]:
        """Rows of `sql` (ending in `id IN`) for `ids`, in slices SQLite's limits allow."""
        rows = []
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            rows += self._query(f"{sql} ({','.join('?' * len(part))})", (*params, *part))
        return rows

    def stored(self, ids: list[str], resolution: int | None = None) -> set[str]:
        """Which of `ids` hold a record (or, given a screening `resolution`, that rung's
        scores)."""
        if resolution is None:
            return {r[0] for r in self._among("SELECT id FROM artworks WHERE id IN", ids)}
        return {r[0] for r in self._among(
            "SELECT id FROM screens WHERE resolution = ? AND id IN", ids, (resolution,))}

    def failed(self, ids: list[str]) -> dict[str, str]:
        """The failure message of each of `ids` whose preview raised."""
        return dict(self._among("SELECT id, message FROM failures WHERE id IN", ids))

    def failures(self) -> list[tuple[ArtworkSpec, str]]:
        """Each seed whose preview raised, with the message, oldest first."""
        if self.version < 3:
            return []
        return [(ArtworkSpec.from_dict(json.loads(spec)), message) for spec, message in
                self._query("SELECT spec, message FROM failures ORDER BY rowid")]

    def claim(self, ids: list[str], owner: str) -> set[str]:
        """Claim `ids` for the sweep `owner` (see `claimant`), but those another live sweep
        claimed: the ids this one should compute. Claims of a dead sweep do not count: a
        sweep on this machine is dead when its process is, elsewhere after CLAIM_LIFE."""
        host = owner.split(":", 1)[0]
        try:
            self._conn.execute("BEGIN IMMEDIATE")  # no other sweep claims between read and write
            with self._conn:
                others = self._among("SELECT id, owner, at FROM claims WHERE id IN", ids)
                taken = {i for i, who, at in others if who != owner and _alive(who, at, host)}
                mine = [i for i in ids if i not in taken]
                self._conn.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                                       [(i, owner, time.time()) for i in mine])
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"catalog {self.path} cannot be written: {e}") from None
        return set(mine)

    def release(self, owner: str) -> None:
        """Drop the claims of `owner` that no result settled (a stopped sweep's)."""
        self._write([("DELETE FROM claims WHERE owner = ?", [(owner,)])])

    def add(self, record: Record) -> bool:
        """Store `record` in a transaction of its own; False when its id is there already."""
        return self.add_results([record]) == 1

    def add_results(self, results: list, resolution: int | None = None) -> int:
        """Store records and failures in one transaction, as
        artworks or, with a screening `resolution`, as that rung's scores; records stored."""
        records = [r for r in results if isinstance(r, Record)]
        failures = [r for r in results if isinstance(r, Failure)]
        now = _now()
        if resolution is None:
            sql = "INSERT OR IGNORE INTO artworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            rows = [(r.spec.id, str(r.spec.seed), _json(r.spec.canonical()), _json(r.wq),
                     _json(r.wv), _json(r.scores), r.scores["fractal_dimension"],
                     r.scores["white_fraction"], r.thumbnail, r.seconds, now, r.image)
                    for r in records]
        else:
            sql = "INSERT OR IGNORE INTO screens VALUES (?, ?, ?, ?, NULL, NULL, ?)"
            rows = [(r.spec.id, resolution, _json(r.spec.canonical()), _json(r.scores), now)
                    for r in records]
        settled = [(r.spec.id,) for r in results]
        return self._write([
            (sql, rows),
            ("DELETE FROM claims WHERE id = ?", settled),
            ("DELETE FROM failures WHERE id = ?", [(r.spec.id,) for r in records]),
            ("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
             [(f.spec.id, str(f.spec.seed), _json(f.spec.canonical()),
               resolution or self.preview, f.message, now) for f in failures])])[0]

    def screen_scores(self, ids: list[str], resolution: int) -> dict[str, dict]:
        """The scores of each of `ids` screened at `resolution`."""
        return {i: json.loads(s) for i, s in self._among(
            "SELECT id, scores FROM screens WHERE resolution = ? AND id IN", ids,
            (resolution,))}

    def cut(self, resolution: int, ranks: dict[str, float], kept: set[str]) -> None:
        """Record a rung's outcome: each screened id's rank and whether it went on."""
        self._write([("UPDATE screens SET rank = ?, kept = ? WHERE id = ? AND resolution = ?",
                      [(rank, int(i in kept), i, resolution) for i, rank in ranks.items()])])

    def screened_specs(self, ids: list[str], resolution: int):
        """The specs of `ids` as screened at `resolution`, in slices (a generator)."""
        for lo in range(0, len(ids), 500):
            for (spec,) in self._among("SELECT spec FROM screens WHERE resolution = ? AND id IN",
                                       ids[lo:lo + 500], (resolution,)):
                yield ArtworkSpec.from_dict(json.loads(spec))

    def screens(self) -> list[tuple[str, int, dict, float | None, bool | None]]:
        """Every rung's (id, resolution, scores, rank, kept), in the order screened."""
        if self.version < 3:
            return []
        return [(i, res, json.loads(s), rank, None if kept is None else bool(kept))
                for i, res, s, rank, kept in self._query(
                    "SELECT id, resolution, scores, rank, kept FROM screens ORDER BY rowid")]

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


CLAIM_LIFE = 600.0  # seconds a claim of a sweep on another machine holds


def claimant() -> str:
    """This sweep's name in the claims table: host:pid:start.token."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}.{secrets.token_hex(4)}"


def _started(pid: int) -> str | None:
    """When process `pid` started, in clock ticks after boot as /proc/PID/stat says (so a
    reused pid is told apart); None when it is not running: gone, or a zombie, killed but
    not yet reaped by its parent; "" when running but this system does not say when."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
    except OSError:
        return ""
    else:
        return None if fields[0] in ("Z", "X") else fields[19]
    try:  # no /proc (macOS): whether the pid exists is all we learn
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # someone else's process: alive
        pass
    return ""


def _alive(owner: str, at: float, host: str) -> bool:
    claim_host, pid, token = owner.rsplit(":", 2)
    if claim_host != host:
        return time.time() - at < CLAIM_LIFE
    started = _started(int(pid))
    claimed = token.split(".")[0] if "." in token else ""  # earlier versions' claims lack it
    return started is not None and (started == claimed or not started or not claimed)


def _json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _recompute_ids(conn: sqlite3.Connection) -> None:
    """Version 3's ids leave out the CUDA profile where it cannot change the pixels: each
    row's id again from its stored spec; of rows that now share one, the oldest stays."""
    seen = set()
    for rowid, old, spec in conn.execute("SELECT rowid, id, spec FROM artworks ORDER BY rowid"
                                         ).fetchall():
        new = ArtworkSpec.from_dict(json.loads(spec)).id
        if new in seen:
            conn.execute("DELETE FROM artworks WHERE rowid = ?", (rowid,))
        elif new != old:
            conn.execute("UPDATE artworks SET id = ? WHERE rowid = ?", (new, rowid))
        seen.add(new)


# The scores issue 24's estimators changed: the headline dimension and what says how and
# where it was measured. The tone and texture scores were measured on the preview as stored.
RESCORED = ("fractal_dimension", "r2", "box_sizes", "regime", "grain", "resolution", "sampling",
            "estimator")


def _rescore(conn: sqlite3.Connection) -> None:
    """Re-score the fractal dimension of each artwork from its stored preview image, without
    rendering: a record of schema 1 has none and keeps its scores (`select` says so)."""
    import io

    import numpy as np
    from PIL import Image

    from generator.score import score

    rows = conn.execute("SELECT rowid, scores, image FROM artworks WHERE image IS NOT NULL")
    for rowid, text, image in rows.fetchall():
        scores = json.loads(text)
        with Image.open(io.BytesIO(image)) as preview:
            labels = np.asarray(preview.convert("L")) >= 128  # as `attnart score` reads it
        fresh = score(labels, display=min(labels.shape), landscape=True).as_dict()
        scores.update({key: fresh[key] for key in RESCORED})
        conn.execute("UPDATE artworks SET scores = ?, fractal_dimension = ? WHERE rowid = ?",
                     (json.dumps(scores), scores["fractal_dimension"], rowid))


# What takes a catalog from version v - 1 to v, by v: SQL statements, or a function of the
# connection; all steps run in one transaction.
_MIGRATIONS = {2: "ALTER TABLE artworks ADD COLUMN image BLOB;",
               3: [_recompute_ids, _V3_TABLES],
               4: [],  # re-scorings for score.ESTIMATOR 1 and 2, which 6's replaces
               5: [],
               6: _rescore}  # score.ESTIMATOR 3


def _refuse_readonly(path: Path) -> None:
    """Raise when the file or its folder (where SQLite writes its journal) cannot be
    written, naming which and why, before anything is changed."""
    for what, where in (("file", path), ("folder", path.parent)):
        if not os.access(where, os.W_OK):
            raise CatalogError(f"catalog {path} cannot be written: its {what} {where} is "
                               "read-only, and a sweep adds to it (and SQLite keeps its "
                               "journal beside it); make it writable or give another "
                               "--catalog")


def _checked(path: Path, conn: sqlite3.Connection, readonly: bool) -> Catalog:
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if not 1 <= version <= SCHEMA_VERSION:
            newer = "a newer" if version > SCHEMA_VERSION else "an unknown"
            raise CatalogError(f"catalog {path} has schema version {version}, from {newer} "
                               f"attnart; this one reads versions 1-{SCHEMA_VERSION}")
        # Every command checks the whole file (0.1 s for 50,000 records), sweeps too: a sweep
        # reads only the few pages its ids lead to, and would go on writing into a damaged
        # file, or trust a damaged index to say what is stored.
        found = conn.execute("PRAGMA integrity_check(1)").fetchone()[0]
        if found != "ok":
            found = " ".join(found.replace("*** in database main ***", "").split())
            raise CatalogError(f"catalog {path} is damaged (SQLite's integrity check: {found}); "
                               "it was left untouched: restore it from a backup, or give "
                               "another --catalog")
        catalog = Catalog(path, conn, version, readonly)  # a damaged file fails here, untouched
    except sqlite3.DatabaseError as e:
        raise CatalogError(f"catalog {path} is damaged: {e}") from None
    if readonly:
        return catalog
    try:
        # while a sweep writes: readers and a second sweep go on beside it
        conn.execute("PRAGMA journal_mode = WAL")
        # A commit survives a killed process once in the WAL; fsyncs only guard against
        # power loss, which costs a sweep a few seeds at most.
        conn.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            _migrate(path, conn, version)
            catalog.version = SCHEMA_VERSION
    except BaseException as e:
        catalog.close()
        if not isinstance(e, sqlite3.DatabaseError):
            raise
        if "readonly" in str(e):
            raise CatalogError(f"catalog {path} cannot be written: SQLite says {e} (the file, "
                               "its folder or the file system refuses writes); a sweep adds "
                               "to it, so make it writable or give another --catalog"
                               ) from None
        raise CatalogError(f"catalog {path} is damaged: {e}") from None
    return catalog


def _migrate(path: Path, conn: sqlite3.Connection, version: int) -> None:
    """Upgrade from `version` to SCHEMA_VERSION in one transaction: all of it, or nothing."""
    steps = []
    for v in range(version + 1, SCHEMA_VERSION + 1):
        step = _MIGRATIONS[v]
        steps += step if isinstance(step, list) else [step]
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in steps:
            if callable(step):
                step(conn)
            else:
                for statement in filter(str.strip, step.split(";")):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.commit()
    except BaseException as e:
        if conn.in_transaction:
            conn.rollback()
        if isinstance(e, (sqlite3.DatabaseError, ArtError)):
            raise CatalogError(f"catalog {path} cannot be upgraded from schema version "
                               f"{version}: {e}; it was left as it was") from None
        raise


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection that reads without writing anything (mode=ro; a catalog left in WAL mode
    by an older attnart, with no writer's -wal file beside it, is read as an immutable file,
    which needs no -shm either), or one that writes and waits for others' locks."""
    uri = path.resolve().as_uri()
    if not readonly:
        return sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=LOCK_WAIT)
    with open(path, "rb") as f:
        wal = f.read(_HEADER)[18] == _WAL
    idle = not Path(f"{path}-wal").exists()
    return sqlite3.connect(f"{uri}?mode=ro{'&immutable=1' if wal and idle else ''}", uri=True,
                           timeout=LOCK_WAIT)


def open_catalog(path: Path, *, preview: int | None = None, readonly: bool = False) -> Catalog:
    """Open the catalog at `path`, refusing any file that is not one.

    With `preview` given, a missing catalog is created for previews of that resolution, and
    an existing one must have been swept at it: scores measured at different resolutions do
    not compare. Unless `readonly`, the file and its folder must be writable.
    """
    path = Path(path)
    if not path.exists():
        if preview is None:
            raise CatalogError(f"catalog {path} does not exist; run attnart sweep first")
        _create(path, preview)
    _refuse_foreign(path)
    if not readonly:
        _refuse_readonly(path)
    try:
        conn = _connect(path, readonly)
    except (OSError, sqlite3.DatabaseError) as e:
        raise CatalogError(f"catalog {path} cannot be opened: {_reason(e)}") from None
    try:
        catalog = _checked(path, conn, readonly)
    except BaseException:
        conn.close()  # closing twice is harmless
        raise
    if preview is not None and preview != catalog.preview:
        catalog.close()
        raise CatalogError(f"catalog {path} holds previews at {catalog.preview}², not {preview}²; "
                           f"use --preview {catalog.preview} or another catalog")
    return catalog
