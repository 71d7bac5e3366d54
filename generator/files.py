"""Writing files so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
import tempfile
from pathlib import Path

from generator.errors import InputError, OutputError

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


def _within(top: str, path) -> bool:
    """Whether `path`, every symbolic link on it followed, lies inside the real folder `top`."""
    return os.path.realpath(path).startswith(top.rstrip(os.sep) + os.sep)


def _listed_inside(top: str, root: Path, name: str) -> bool:
    """Whether the file a manifest lists as `name` lies inside `root` (whose real path is
    `top`): a manifest can be edited, and a folder on the way can be a link to elsewhere."""
    return not (Path(name).is_absolute() or ".." in Path(name).parts
                or not _within(top, root / name))


def _in_place(top: str, path: Path) -> None:
    """Refuse to write `path` in the real folder `top` (a site's) unless it is a file of its
    own there: a link where it goes would have attnart replace the file the link names (the
    user's, or one outside), and a linked folder on the way may lead out of `top`."""
    if path.is_symlink():
        raise OutputError(f"{path} is a symbolic link; attnart replaces only its own files, "
                          "never through a link: remove the link or choose another folder")
    if not _within(top, path):
        raise OutputError(f"{path} leads to {os.path.realpath(path)}, outside {top}, through a "
                          "symbolic link; attnart writes only inside the folder: remove the "
                          "link or choose another folder")


def check_paths(root: Path, names) -> None:
    """Before any write: each of `names` (relative to `root`) can be written where it is
    named, inside `root`: no file where one of its folders goes, no symbolic link where it
    goes, and no linked folder on the way out of `root`."""
    top = os.path.realpath(root)
    for folder in sorted({p for n in names for p in Path(n).parents} - {Path(".")}):
        if (root / folder).exists() and not (root / folder).is_dir():
            raise OutputError(f"{root / folder} is a file where the folder {folder}/ goes; move "
                              "it away or choose another folder")
    for name in names:
        _in_place(top, root / name)


def make_folder(path: Path, what: str) -> None:
    """Create the folder `path` with its parents, or say in one line what stands in the way
    (a file, or a link to nothing, where it or a parent should be)."""
    for part in (path, *path.parents):
        if part.is_dir():
            break
        if part.exists() or part.is_symlink():
            kind = "a file" if part.is_file() else "not a folder" if part.exists() else (
                "a symbolic link to nothing")
            where = "" if part == path else f": {part} is {kind}"
            raise OutputError(f"{what} {path}{where or f' is {kind}'}; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {what} {os_problem(e, path)}") from None


LOCK = ".attnart-lock"  # what `locked` holds in a folder; the holder's pid inside


@contextlib.contextmanager
def locked(folder: Path):
    """Hold `folder`'s advisory lock while the block runs, so that one attnart at a time
    writes it (another would remove this one's fresh files as stale); a second is refused
    in one line naming the holder's pid. The lock file goes when the block ends."""
    path = folder / LOCK
    foreign = OutputError(f"{path} is not attnart's lock file; move it away")
    while True:
        try:  # never through a link, and without blocking on a FIFO put there
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise foreign from None
            raise OutputError(f"cannot lock {os_problem(e, path)}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > 32:
            os.close(fd)  # a user's file by that name is neither emptied nor removed
            raise foreign
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise OutputError(f"{folder} is being written by another attnart{pid}; wait for it "
                              "to finish, or choose another folder") from None
        # the file we hold may have been removed by a holder that just finished: then
        # another may have made and locked a new one, so lock that instead
        with contextlib.suppress(FileNotFoundError):
            now = os.stat(path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
                break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # still holding it: whoever opened it meanwhile tries again
        os.close(fd)


_TEMP_PREFIX, _TEMP_SUFFIX = ".", ".tmp"  # write_files' temporaries: .<name>.<random>.tmp
_TEMPORARY = re.compile(rf"{re.escape(_TEMP_PREFIX)}(.+)\.[a-z0-9_]{{8}}{re.escape(_TEMP_SUFFIX)}")


def remove_temporaries(root: Path, names) -> None:
    """Remove what an interrupted `write_files` (a SIGKILL skips its clean-up) left beside
    `names` (relative to `root`): only temporaries of those very names, never another file.
    Call it holding `root`'s lock, as another writer's temporaries are in use."""
    top = os.path.realpath(root)
    wanted: dict[Path, set[str]] = {}
    for name in names:
        if _listed_inside(top, root, name):
            wanted.setdefault(Path(name).parent, set()).add(Path(name).name)
    for folder, own in sorted(wanted.items()):
        try:
            entries = list(os.scandir(root / folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match[1] in own and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def remove_files(root: Path, names) -> list[str]:
    """Remove the files of `names` (relative to `root`, as a manifest lists them) and return
    those removed: only a regular file inside `root` (`_listed_inside`), and never a
    read-only one, which the user protects."""
    top = os.path.realpath(root)
    removed = []
    for name in names:
        path = root / name
        if not _listed_inside(top, root, name):
            continue
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IWUSR:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(name)
    return removed


def _target(path: Path, top: str | None) -> Path:
    """Where the bytes of `path` go: through a symbolic link to its target (but with `top`,
    in place inside that real folder: `_in_place`), which must be a regular file or not
    exist yet (a device, pipe or folder is never replaced) and not read-only (protected)."""
    if top is not None:
        _in_place(top, path)
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if real.exists() and not real.is_file():
        raise OutputError(f"{path} is not a regular file; give the path of a file to write")
    if real.exists() and not real.stat().st_mode & stat.S_IWUSR:
        raise OutputError(f"{path} is read-only, so attnart leaves it alone; make it writable "
                          "(chmod u+w) to replace it, or choose another name")
    return real


def check_writable(paths, *, root: Path | None = None) -> None:
    """Fail as `write_files` would on a target of `paths`, before any work is done."""
    top = None if root is None else os.path.realpath(root)
    for path in paths:
        _target(path, top)


def write_files(files: dict[Path, bytes], *, root: Path | None = None) -> None:
    """Write every file or none: each goes to a temporary beside its target, then all are
    renamed at the end, so an interruption never leaves a half-written or lone file.

    A symbolic link is written through (its target replaced, the link kept), but with `root`
    (a site's folder) every file is written in place inside `root`. A replaced file keeps its
    permissions, a new one gets what open() would give; a read-only one is refused."""
    new_mode = 0o666 & ~_umask()  # mkstemp's 0600 would hide the files
    top = None if root is None else os.path.realpath(root)
    targets = {path: _target(path, top) for path in files}
    temps: list[str] = []
    current = None
    try:
        for path, data in files.items():
            current, real = path, targets[path]
            mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else new_mode
            fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f"{_TEMP_PREFIX}{real.name}.",
                                       suffix=_TEMP_SUFFIX)
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


MAX_INPUT = 64 * 1024 * 1024  # bytes of a text input read whole (a seeds file, a palette)


def _open_input(path, what: str) -> tuple[int, os.stat_result]:
    """A descriptor of the regular file `path` and its status, opened without blocking: a
    FIFO or device would block or never end (`/dev/zero`), so anything else is refused with
    an `InputError` naming `what` and the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as e:
        raise InputError(f"{what} cannot be read: {os_problem(e, path)}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(f"{what} {path} is not a regular file; give the path of a file")
    return fd, info


def read_input(path, what: str, *, limit: int = MAX_INPUT) -> bytes:
    """The bytes of a regular file the user named as input, read whole (`_open_input`): at
    most `limit` bytes, a larger file refused. Raises `InputError` naming `what` and the
    file."""
    fd, info = _open_input(path, what)
    with os.fdopen(fd, "rb") as f:
        if info.st_size > limit:
            raise InputError(f"{what} {path} is {info.st_size:,} bytes, over the limit of "
                             f"{limit:,}; give a smaller file")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise InputError(f"{what} cannot be read: {os_problem(e, path)}") from None
    if len(data) > limit:  # it grew while we read
        raise InputError(f"{what} {path} is over the limit of {limit:,} bytes; give a smaller "
                         "file")
    return data


MARK_SPAN = 1024  # bytes at a file's start (or end) where a command looks for its mark


def carries_mark(path, marks: tuple[bytes, ...], *, at_end: bool = False) -> bool:
    """Whether the regular file `path` holds one of `marks` in its first MARK_SPAN bytes (its
    last, `at_end`): how a command tells its own earlier output from anything else."""
    try:
        fd, info = _open_input(path, "output")
    except InputError:
        return False
    try:
        part = os.pread(fd, MARK_SPAN, max(0, info.st_size - MARK_SPAN) if at_end else 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return any(mark in part for mark in marks)
