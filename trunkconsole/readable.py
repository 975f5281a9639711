"""Files we read because someone named them: regular files only, read within a bound.

A path on the command line (`--ruleset`, `--from-file`, `--secret-file`, `--journal`) or
in a config (`#include`, a log file in logger.conf, jail.local) may name a FIFO, a device
or a directory. open(2) on a FIFO blocks until a writer appears (forever), and /dev/zero
or /dev/urandom never end: one shared check, made on the opened descriptor (no race
between a stat and the open), refuses them with a clear error. Asterisk itself skips what
is not a regular file ("is not a regular file, ignoring", main/config.c).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trunkconsole.errors import OperatorError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OperatorError):
    """The path names something other than a regular file."""


def kind_of(mode: int) -> str:
    """'a FIFO (named pipe)', 'a directory' ... for a non-regular st_mode."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path | str, what: str = "file") -> int:
    """A read-only descriptor on a regular file; OSError as open(2) raises it, and
    NotRegularFile (an OperatorError) for a FIFO, device, socket or directory.

    O_NONBLOCK makes the open of a FIFO return at once instead of waiting for a writer;
    it is cleared again for the regular file that remains.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"the {what} {path} is {kind_of(mode)}, not a regular file",
                                 fix="give the path of a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path | str, limit: int, what: str = "file") -> bytes:
    """Up to limit + 1 bytes of a regular file (a caller sees `len > limit` as too big)."""
    fd = open_regular(path, what)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def refuse_special(path: Path, what: str = "file") -> None:
    """NotRegularFile when path exists and is not a regular file (for a library that opens
    the path itself, like sqlite3). A missing or unreachable path passes: the library
    reports it as it always did (a journal under a directory we may not read is a gap
    for `check`, not an error)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"the {what} {path} is {kind_of(mode)}, not a regular file",
                             fix="give the path of a regular file")
