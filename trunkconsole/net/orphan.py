"""Children that die with the thread that started them (`nft monitor`, `nft -f`).

PR_SET_PDEATHSIG (prctl(2)) sends the child SIGKILL when the *thread* that forked it
ends, SIGKILL of the whole process included; it survives execve. Two traps, both handled:
- a parent that dies between fork and prctl leaves the child without the signal: the
  child compares getppid() with the parent's pid after prctl and exits itself;
- libc is resolved in the parent: dlopen in the child of a multithreaded parent can
  deadlock on a loader lock another thread held at fork.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None = None


def die_with_parent() -> Callable[[], None]:
    """A preexec_fn for subprocess.Popen/run (built in the parent, run in the child)."""
    global _prctl
    if _prctl is None:
        _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                             use_errno=True).prctl
    prctl, parent = _prctl, os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: no signal will come
            os._exit(1)

    return preexec
