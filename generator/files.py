"""Writing files so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from pathlib import Path

from generator.errors import OutputError

# What to do about the machine's refusals, by errno; anything else is reported as the OS says.
_ADVICE = {
    errno.ENOSPC: "free some space and run again",
    errno.EDQUOT: "free some space (the disk quota is reached) and run again",
    errno.EACCES: "check the permissions of the file and its folder",
    errno.EPERM: "check the permissions of the file and its folder",
    errno.EROFS: "the file system is mounted read-only; choose another folder",
}


def os_problem(e: OSError, path=None) -> str:
    """One line naming the file and what the OS said, with what to do when we know."""
    name = path if path is not None else e.filename
    what = e.strerror or str(e) or type(e).__name__
    line = f"{name}: {what}" if name is not None else what
    advice = _ADVICE.get(e.errno)
    return f"{line}; {advice}" if advice else line


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_ours(root: Path, names, ours, *, writer: str, force: bool = False) -> None:
    """Refuse, unless `force`, to replace a file under `root` that `writer` did not write:
    one of `names` (relative to `root`) that exists but is not in `ours`, its manifest."""
    theirs = sorted(n for n in names if n not in ours and (root / n).exists())
    if theirs and not force:
        more = f" (and {len(theirs) - 1} more files)" if len(theirs) > 1 else ""
        raise OutputError(f"{root / theirs[0]}{more} was not written by {writer} and would be "
                          "replaced; move it away or use --force to replace it")


def _target(path: Path) -> Path:
    """Where the bytes of `path` go: through a symbolic link to its target, which must be
    a regular file or not exist yet (a device, pipe or folder is never replaced)."""
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if real.exists() and not real.is_file():
        raise OutputError(f"{path} is not a regular file; give the path of a file to write")
    return real


def write_files(files: dict[Path, bytes]) -> None:
    """Write every file or none: each goes to a temporary beside its target, then all are
    renamed at the end, so an interruption never leaves a half-written or lone file.

    A symbolic link is written through (its target replaced, the link kept); a replaced
    file keeps its permissions, a new one gets what open() would give."""
    new_mode = 0o666 & ~_umask()  # mkstemp's 0600 would hide the files
    targets = {path: _target(path) for path in files}
    temps: list[str] = []
    current = None
    try:
        for path, data in files.items():
            current, real = path, targets[path]
            mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else new_mode
            fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
        for tmp, path in zip(temps, files):
            current = path
            os.replace(tmp, targets[path])
    except BaseException as e:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(e, OSError):  # name the file the user asked for, never our temporary
            raise OutputError(f"cannot write {os_problem(e, current)}") from None
        raise


def json_text(data) -> str:
    """Indented JSON with each innermost list on one line, so matrices read as matrices."""
    text = json.dumps(data, indent=2, sort_keys=True)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]",
                  text) + "\n"
