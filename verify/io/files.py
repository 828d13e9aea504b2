"""Output files: checked places and atomic writes, so that a command never leaves a half-written output.

Every command that writes checks each of its output paths with :func:`check_output_file` (or
:func:`check_output_dir` for a folder of files) before it does any work, so that a path it cannot use is
one line and exit code 2 at once rather than a traceback after minutes of solving. The write itself
goes through :func:`atomic_write_bytes` (or :func:`atomic_write_files` for several files): a temporary
file in the target's folder, flushed, then renamed over the target. A target that is not a regular
file (``/dev/null``, a pipe, a device, a folder) is never replaced: renaming over ``/dev/null`` as root
would turn the device into a plain file for every process on the machine.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import OutputPathError

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_files", "check_output_file",
           "check_output_dir", "remove_pending_temporaries"]

# Temporary files being written right now (removed by a hard exit at the end of a --timeout).
_PENDING: set = set()


def remove_pending_temporaries() -> None:
    """Remove the temporary files of writes in progress (the CLI's hard exit calls this first)."""
    for tmp in list(_PENDING):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _target(path: str | os.PathLike) -> tuple[str, Path]:
    """The path as the user wrote it (for messages) and the real place a write goes to (symlinks followed)."""
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError("cannot write the output: its path is empty")
    try:
        name_max = os.pathconf(os.path.dirname(os.path.abspath(text)) or "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    long = next((part for part in Path(text).parts if len(os.fsencode(part)) > name_max), None)
    if long is not None:  # the system refuses such a name (ENAMETOOLONG) wherever it is used
        raise OutputPathError(f"cannot write {text[:80]}...: a part of the path has {len(os.fsencode(long))} "
                              f"bytes, more than the {name_max} a file name may have here")
    return text, Path(os.path.realpath(text))


def _probe_folder(text: str, folder: Path) -> None:
    """Refuse unless a file can be created in ``folder`` (an actual try: permissions, read-only file
    systems, /proc and root's rights are all answered by the kernel, not guessed)."""
    if not folder.is_dir():
        up = folder
        while not up.exists() and up != up.parent:
            up = up.parent
        if up.exists() and not up.is_dir():
            raise OutputPathError(f"cannot write {text}: {up} is not a folder")
        raise OutputPathError(f"cannot write {text}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".verify-probe.", dir=folder)
    except OSError as exc:
        raise OutputPathError(f"cannot write {text}: no file can be made in the folder {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | os.PathLike, *, inputs: Iterable = ()) -> Path:
    """Check that ``path`` is a place a file can be written to atomically; return the real target.

    Refused with :class:`~verify.errors.OutputPathError` (one line naming the path): an empty path, a
    path ending in a separator, an existing folder, anything that is not a regular file (a device such
    as ``/dev/null``, a pipe, a socket), a read-only file, a missing or unwritable folder, and one of the
    command's ``inputs`` (the result would overwrite what it was computed from).
    """
    text, target = _target(path)
    if text.endswith(("/", os.sep)):
        raise OutputPathError(f"cannot write {text}: the path names a folder, not a file")
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):  # the folder check below says which part is wrong
        st = None
    except OSError as exc:
        raise OutputPathError(f"cannot write {text}: cannot use this path ({exc.strerror or exc})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputPathError(f"cannot write {text}: it is a folder, not a file name")
        if not stat.S_ISREG(st.st_mode):
            raise OutputPathError(f"cannot write {text}: it is not a regular file (a device, pipe or socket); it is not replaced")
        if not os.access(target, os.W_OK):
            raise OutputPathError(f"cannot write {text}: the file is read-only")
    for other in inputs:
        if other is not None and os.path.realpath(os.fspath(other)) == str(target):
            raise OutputPathError(f"cannot write {text}: it is also an input of the command; choose another output file")
    _probe_folder(text, target.parent)
    return target


def check_output_dir(path: str | os.PathLike, names: Iterable[str], *, inputs: Iterable = ()) -> list[str]:
    """Check that the files ``names`` can be written into the folder ``path``; return those that exist
    already (they will be replaced). The folder itself may be missing (it is made), its parent may not."""
    text, target = _target(path)
    names = list(names)
    try:
        exists = target.exists()
    except OSError as exc:
        raise OutputPathError(f"cannot write {text}: cannot use this path ({exc.strerror or exc})") from None
    if exists:
        if not target.is_dir():
            raise OutputPathError(f"cannot write {text}: it exists and is not a folder")
        for name in names:
            check_output_file(os.path.join(text, name), inputs=inputs)
        return [n for n in names if (target / n).exists()]
    _probe_folder(text, target.parent)
    return []


def _refuse_special(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise OutputPathError(f"cannot write {path}: it is {kind}; it is not replaced")


def _temp_beside(path: Path) -> str:
    # the name is cut so that the temporary name stays a legal file name when the target's is near the limit
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    _PENDING.add(tmp)
    return tmp


def _fill(tmp: str, data: bytes, target: Path) -> None:
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    # mkstemp makes the file private (0600); give it the mode a plain open() would (or the mode of the
    # file it replaces), so that an atomic write does not change who may read the output.
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    os.chmod(tmp, mode)


def atomic_write_files(files: Mapping[str | os.PathLike, bytes]) -> None:
    """Write several files as one step: every temporary file is written first, then all are renamed.

    A failure while writing leaves none of the targets changed and no temporary file behind. Symlinks
    are followed (the link stays, its target is replaced); a target that is not a regular file is refused.
    """
    targets = [Path(os.path.realpath(os.fspath(p))) for p in files]
    for t in targets:
        _refuse_special(t)
    temps: list[str] = []
    try:
        for t, data in zip(targets, files.values()):
            temps.append(_temp_beside(t))
            _fill(temps[-1], data, t)
        for tmp, t in zip(temps, targets):
            os.replace(tmp, t)
            _PENDING.discard(tmp)
    except BaseException:
        for tmp in temps:
            _PENDING.discard(tmp)
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    atomic_write_files({path: data})


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
