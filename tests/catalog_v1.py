"""A catalog exactly as attnart wrote it before schema version 2 (commit a907823): the tables,
pragmas, meta rows and record layout of that `generator/catalog.py`, copied here so the
migration is tested against the real old format without a binary fixture."""

import json
import sqlite3

APPLICATION_ID = int.from_bytes(b"attn", "big")

SCHEMA_V1 = """
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
    created TEXT NOT NULL             -- UTC, ISO 8601
);
"""


def _json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def write_v1(path, preview: int, records) -> None:
    """Write `records` (generator.catalog.Record; their image is ignored, and their scores
    should hold only version 1's keys) as version 1 did, WAL mode included."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", "attnart catalog"), ("preview", str(preview)),
        ("created", "2026-12-01T00:00:00.000+00:00"), ("created_by", "attnart 0.1.0")])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.execute("PRAGMA journal_mode = WAL")
    for r in records:
        s = r.scores
        with conn:
            conn.execute("INSERT OR IGNORE INTO artworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (r.spec.id, str(r.spec.seed), _json(r.spec.canonical()), _json(r.wq),
                          _json(r.wv), _json(s), s["fractal_dimension"], s["white_fraction"],
                          r.thumbnail, r.seconds, "2026-12-01T00:00:01.000+00:00"))
    conn.close()


# The scores version 1 stored (generator.score.Score of that commit), for a realistic record.
V1_SCORES = {"fractal_dimension": 1.41, "r2": 0.99, "box_sizes": [4, 32], "display_size": 128,
             "raw_fractal_dimension": 1.62, "raw_r2": 0.98, "white_fraction": 0.4,
             "boundary_fraction": 0.1, "traits": {"structure": "intricate", "tone": "balanced"}}
