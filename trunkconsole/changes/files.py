"""Reading and replacing an operator's config file without ever half-writing it.

Replace = write a temporary file in the same directory, fsync it, give it the original's
mode, owner and group (pjsip.conf is often 0640 asterisk:asterisk), rename it over the
original (atomic on one filesystem), then fsync the directory so the rename survives a
power cut.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trunkconsole.errors import OperatorError

TMP_PREFIX = ".trunkconsole-"

# Fault-injection points for tests that crash the process for real (see
# tests/unit/test_changes_files.py); None in normal runs.
before_rename: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class FileSnapshot:
    """A file's bytes and metadata as read, to detect changes made behind our back."""

    path: Path
    content: bytes
    sha256: str
    mode: int
    uid: int
    gid: int
    exists: bool = True


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def snapshot(path: Path) -> FileSnapshot:
    """Read a file whole; a missing file is a snapshot that does not exist (new file)."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            content = handle.read()
    except FileNotFoundError:
        parent = path.parent.stat()
        return FileSnapshot(path, b"", digest(b""), 0o640, parent.st_uid, parent.st_gid,
                            exists=False)
    except OSError as exc:
        raise OperatorError(f"cannot read {path}", evidence=exc.strerror or str(exc),
                            fix="check the path and this user's permissions") from exc
    return FileSnapshot(path, content, digest(content), stat.S_IMODE(info.st_mode),
                        info.st_uid, info.st_gid)


def unchanged_since(snap: FileSnapshot) -> bool:
    """True when the file on disk is still what the snapshot read."""
    current = snapshot(snap.path)
    return current.exists == snap.exists and current.sha256 == snap.sha256


def replace_file(path: Path, content: bytes, like: FileSnapshot) -> None:
    """Atomically replace path with content, keeping like's mode, owner and group."""
    directory = path.parent
    fd = -1
    tmp = directory / f"{TMP_PREFIX}{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.fchmod(fd, like.mode)
        if os.geteuid() == 0:
            os.fchown(fd, like.uid, like.gid)
        os.close(fd)
        fd = -1
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise OperatorError(f"could not write {path}: {reason}",
                            evidence=f"{path} was left as it was",
                            fix="free space or fix permissions, then apply again") from exc
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_file(path: Path) -> None:
    """Undo the creation of a new file (rollback of a change that added it)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fsync_directory(path.parent)


def leftover_temporaries(directory: Path) -> list[Path]:
    """Temporary files a crashed apply may have left (never the originals)."""
    return sorted(directory.glob(f"{TMP_PREFIX}*.tmp"))
