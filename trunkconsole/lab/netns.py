"""Enter a named network namespace from Python (setns), per thread.

`ip netns add` bind-mounts each namespace at /run/netns/NAME. setns(2) with CLONE_NEWNET
switches only the calling thread; sockets keep the namespace they were created in.
Python 3.11 has no os.setns, hence ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trunkconsole.errors import OperatorError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/run/netns")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OperatorError(f"cannot enter network namespace: {os.strerror(err)}",
                            fix="run as root")


def namespace_path(name: str) -> Path:
    """Path of a named namespace as `ip netns` creates it."""
    return NETNS_RUN_DIR / name


def enter(name: str) -> None:
    """Move the calling thread into namespace `name` for good (used at process start)."""
    path = namespace_path(name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise OperatorError(f"network namespace '{name}' does not exist",
                            fix="start the lab first: trunkconsole lab up") from exc
    try:
        _setns(fd)
    finally:
        os.close(fd)


@contextmanager
def inside(name: str) -> Iterator[None]:
    """Run the block with the calling thread inside namespace `name`, then come back."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        enter(name)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
