"""The per-user render cache: each full-resolution render once, whichever site asked for it.

`attnart build` into any `--out` and `attnart jekyll` into any site take their renders from
here (rendering into it what is missing) and keep copies of what they publish, so a site
stands on its own and the same spec never renders twice for one user. A render is the PNG
and its sidecar, named by spec id: `<cache>/renders/<id>.png` and `.json`.

The folder is `--cache DIR`, else `$ATTNART_CACHE`, else the platform's user cache folder
(`$XDG_CACHE_HOME/attention-art`, `~/.cache/attention-art`; `~/Library/Caches` on macOS,
`%LOCALAPPDATA%` on Windows). Its size is kept under a limit (`attnart cache --limit`, stored
in the folder; 4 GiB unless set) by removing the renders used least recently: each use
touches a render's time, and a run never removes the renders it is using.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ArtError
from generator.files import json_text, make_folder, write_files

DEFAULT_LIMIT = 4 * 1024**3
SETTINGS = "settings.json"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def default_dir() -> Path:
    """Where the cache lives unless told: $ATTNART_CACHE, else the platform's rule."""
    if os.environ.get("ATTNART_CACHE"):
        return Path(os.environ["ATTNART_CACHE"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "attention-art"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "attention-art" / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or ""
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "attention-art"


def parse_size(text: str) -> int:
    """'500M', '2G', '2GiB' or a count of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ArtError(f"size {text!r}: give bytes or a number with K, M, G or T, e.g. 2G")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # the loop always returns


@dataclass(frozen=True)
class Usage:
    folder: Path
    renders: int
    size: int  # bytes
    limit: int


class RenderCache:
    """The renders of one cache folder."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else default_dir()
        self.renders = self.folder / "renders"
        self.in_use: set[str] = set()  # ids this run holds: never evicted by it

    def path(self, artwork_id: str) -> Path:
        return self.renders / f"{artwork_id}.png"

    def prepare(self) -> None:
        """Make the folder (or say in one line why it cannot be)."""
        make_folder(self.folder, "render cache")
        make_folder(self.renders, "render cache")

    def use(self, artwork_id: str) -> Path:
        """The render's path, marked as just used (its time is the eviction order)."""
        self.in_use.add(artwork_id)
        png = self.path(artwork_id)
        for path in (png, png.with_suffix(".json")):
            with contextlib.suppress(OSError):
                os.utime(path)
        return png

    @property
    def limit(self) -> int:
        try:
            value = json.loads((self.folder / SETTINGS).read_bytes()).get("limit")
        except (OSError, ValueError, AttributeError):
            return DEFAULT_LIMIT
        return value if isinstance(value, int) and value >= 0 else DEFAULT_LIMIT

    def set_limit(self, limit: int) -> None:
        self.prepare()
        write_files({self.folder / SETTINGS: json_text({"limit": limit}).encode()},
                    root=self.folder)

    def _entries(self) -> list[tuple[float, int, str]]:
        """(last use, bytes, id) of every render, least recently used first."""
        entries = {}
        with contextlib.suppress(FileNotFoundError):
            for item in os.scandir(self.renders):
                stem, dot, ext = item.name.rpartition(".")
                if not dot or ext not in ("png", "json") or item.name.startswith("."):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    info = item.stat(follow_symlinks=False)
                    used, size = entries.get(stem, (0.0, 0))
                    entries[stem] = (max(used, info.st_mtime), size + info.st_size)
        return sorted((used, size, stem) for stem, (used, size) in entries.items())

    def usage(self) -> Usage:
        entries = self._entries()
        return Usage(self.folder, len(entries), sum(size for _, size, _ in entries), self.limit)

    def evict(self, limit: int | None = None) -> list[str]:
        """Remove the least recently used renders until the cache fits `limit` (its own limit
        when None), never one this run uses; returns the ids removed."""
        limit = self.limit if limit is None else limit
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        removed = []
        for _, size, stem in entries:
            if total <= limit:
                break
            if stem in self.in_use:
                continue
            for ext in ("png", "json"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.renders / f"{stem}.{ext}")
            total -= size
            removed.append(stem)
        return removed
