"""Reading and replacing an operator's config file without ever half-writing it.

Replace = write a temporary file in the same directory, fsync it, give it the original's
mode, owner and group (pjsip.conf is often 0640 asterisk:asterisk), rename it over the
original (atomic on one filesystem), then fsync the directory so the rename survives a
power cut.

A rename replaces the directory entry, not the file: over a symlink it would put a
regular file where the link was (the link's target keeping the old text), over a hard
link it would split the names, and as a non-root user it would hand a root-owned file
to that user. So the write goes to the symlink's target, and a file we cannot replace
as it is (read-only, foreign owner, several hard links) is refused before anything
changes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pwd
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
    nlink: int = 1
    # The file actually read and written: path with its symlinks resolved.
    target: Path | None = None

    @property
    def real(self) -> Path:
        return self.target if self.target is not None else self.path


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _resolve(path: Path) -> Path:
    """path with every symlink resolved (the file a write must go to)."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        if os.path.islink(path):
            raise OperatorError(f"{path} is a symlink to a missing file",
                                evidence=f"it points to {os.readlink(path)}",
                                fix="point it at the real file, or remove the link") from None
        return Path(os.path.realpath(path))
    except OSError as exc:  # ELOOP: a symlink loop
        raise OperatorError(f"cannot resolve {path}", evidence=exc.strerror or str(exc)) from exc


def snapshot(path: Path) -> FileSnapshot:
    """Read a file whole; a missing file is a snapshot that does not exist (new file)."""
    real = _resolve(path)
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):  # a FIFO would block the open
            raise OperatorError(f"{path} is not a regular file",
                                fix="trunkconsole edits regular config files only")
        with open(real, "rb") as handle:
            info = os.fstat(handle.fileno())
            content = handle.read()
    except FileNotFoundError:
        parent = real.parent.stat()
        return FileSnapshot(path, b"", digest(b""), 0o640, parent.st_uid, parent.st_gid,
                            exists=False, target=real)
    except OSError as exc:
        raise OperatorError(f"cannot read {path}", evidence=exc.strerror or str(exc),
                            fix="check the path and this user's permissions") from exc
    return FileSnapshot(path, content, digest(content), stat.S_IMODE(info.st_mode),
                        info.st_uid, info.st_gid, nlink=info.st_nlink, target=real)


def unchanged_since(snap: FileSnapshot) -> bool:
    """True when the file on disk is still what the snapshot read."""
    return is_content(snap.path, snap.sha256 if snap.exists else None)


def is_content(path: Path, sha256: str | None) -> bool:
    """True when path holds exactly these bytes (sha256 None: when it does not exist)."""
    try:
        current = snapshot(path)
    except OperatorError:
        return False
    if sha256 is None:
        return not current.exists
    return current.exists and current.sha256 == sha256


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_replaceable(snap: FileSnapshot) -> None:
    """Refuse, before anything is written, a file that replace_file cannot replace as it is."""
    real = snap.real
    directory = real.parent
    root = os.geteuid() == 0
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OperatorError(f"cannot write in {directory}",
                            evidence=f"{directory} is not writable for {_user(os.geteuid())}",
                            fix="run as the owner of the Asterisk configs, or as root")
    if not snap.exists:
        return
    where = f"{snap.path}" + (f" (a symlink to {real})" if real != snap.path else "")
    if snap.mode & 0o222 == 0 or not os.access(real, os.W_OK):
        raise OperatorError(f"{where} is read-only (mode {snap.mode:04o})",
                            evidence="someone made it read-only on purpose",
                            fix="make it writable first (chmod u+w) if it is meant to change")
    if snap.nlink > 1:
        raise OperatorError(f"{where} has {snap.nlink} hard links",
                            evidence="replacing it would leave the other names with the old text",
                            fix="edit it by hand, or turn the other names into symlinks")
    if not root and snap.uid != os.geteuid():
        raise OperatorError(f"{where} belongs to {_user(snap.uid)}",
                            evidence="as another user, replacing it would change its owner",
                            fix=f"run as {_user(snap.uid)} or as root")
    if not root and snap.gid != os.getegid() and snap.gid not in os.getgroups():
        raise OperatorError(f"{where} belongs to group {snap.gid}, not one of this user's",
                            evidence="replacing it would change its group",
                            fix="run as root, or as a member of that group")


def replace_file(path: Path, content: bytes, like: FileSnapshot,
                 expect: str | None = None) -> None:
    """Atomically replace path (its symlink target) with content, keeping like's mode,
    owner and group. expect: the sha256 the file must still have right before the rename
    (None: no check)."""
    real = like.real
    directory = real.parent
    fd = -1
    tmp = directory / f"{TMP_PREFIX}{real.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.fchmod(fd, like.mode)
        if os.geteuid() == 0:
            os.fchown(fd, like.uid, like.gid)
        elif like.gid != os.getegid():
            os.fchown(fd, -1, like.gid)
        os.close(fd)
        fd = -1
        if before_rename is not None:
            before_rename(tmp)
        if expect is not None and not is_content(real, expect):
            raise _Moved()
        os.replace(tmp, real)
    except (OSError, _Moved) as exc:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, _Moved):
            raise OperatorError(f"{path} changed on disk meanwhile: left as it is") from None
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise OperatorError(f"could not write {path}: {reason}",
                            evidence=f"{path} was left as it was",
                            fix="free space or fix permissions, then apply again") from exc
    fsync_directory(directory)


class _Moved(Exception):
    pass


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
