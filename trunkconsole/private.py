"""Directories and files only this user can touch: state, backups, audit log, logger state.

A directory another user can write to (or owns) lets that user plant a symlink where we
are about to write, and we would write through it (as root: anywhere). So every
directory we keep state in is created 0700, and an existing one must be a real
directory (not a symlink), owned by us or root, and writable by nobody else; files in
it are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from trunkconsole.errors import OperatorError

FILE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC
DEFAULT_STATE_DIR = Path("/var/lib/trunkconsole")
STATE_ENV = "TRUNKCONSOLE_STATE_DIR"


def state_dir(override: Path | None = None) -> Path:
    """Where backups and the audit log go (--state-dir, $TRUNKCONSOLE_STATE_DIR)."""
    if override is not None:
        return override
    env = os.environ.get(STATE_ENV)
    return Path(env) if env else DEFAULT_STATE_DIR


def private_dir(path: Path, what: str = "state directory") -> Path:
    """Create path 0700 (parents as needed) or check an existing one; return it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = os.lstat(path)
    except OSError as exc:
        raise OperatorError(f"cannot create the {what} {path}",
                            evidence=exc.strerror or str(exc),
                            fix="choose another directory this user may write") from exc
    euid = os.geteuid()
    if stat.S_ISLNK(info.st_mode):
        raise OperatorError(f"the {what} {path} is a symlink",
                            evidence=f"it points to {os.readlink(path)}",
                            fix="remove the link (someone may have planted it), or choose "
                            "another directory")
    if not stat.S_ISDIR(info.st_mode):
        raise OperatorError(f"the {what} {path} is not a directory")
    if info.st_uid not in (euid, 0):
        raise OperatorError(f"the {what} {path} belongs to another user (uid {info.st_uid})",
                            evidence="they could replace what we write there",
                            fix="choose a directory of your own")
    if info.st_mode & 0o022:
        raise OperatorError(f"the {what} {path} is writable by others "
                            f"(mode {stat.S_IMODE(info.st_mode):04o})",
                            evidence="another user could plant a symlink there",
                            fix=f"chmod go-w {path}, or choose another directory")
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open with O_NOFOLLOW, new files 0600; a symlink is refused with a clear error."""
    try:
        return os.open(path, flags | FILE_FLAGS, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            raise OperatorError(f"{path} is a symlink: refusing to write through it",
                                fix="remove the link (someone may have planted it)") from exc
        raise OperatorError(f"cannot open {path}", evidence=exc.strerror or str(exc)) from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace path with data via a 0600 temporary in the same (private) directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_private(path: Path, limit: int = 1 << 20) -> bytes:
    """A small file's bytes, never through a symlink."""
    fd = os.open(path, os.O_RDONLY | FILE_FLAGS)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)
