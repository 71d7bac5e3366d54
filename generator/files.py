"""Writing files so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_files(files: dict[Path, bytes]) -> None:
    """Write every file or none: each goes to a temporary beside its target, then all are
    renamed at the end, so an interruption never leaves a half-written or lone file."""
    mode = 0o666 & ~_umask()  # what open() would give; mkstemp's 0600 would hide the files
    temps: list[str] = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
        for tmp, path in zip(temps, files):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def json_text(data) -> str:
    """Indented JSON with each innermost list on one line, so matrices read as matrices."""
    text = json.dumps(data, indent=2, sort_keys=True)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]",
                  text) + "\n"
