"""Run the firewall listings inside a named network namespace without `ip netns exec`.

A network namespace is a property of a thread, not of the process: setns(fd,
CLONE_NEWNET) in one thread moves only that thread (setns(2)), a child it starts
inherits it (clone copies the caller's nsproxy), and /proc/thread-self/net shows that
namespace's files while /proc/self/net still shows the process's (checked on 6.18 with
iptables-legacy rules in a scratch namespace). So a pool whose threads each joined the
namespace runs `nft`, the -save tools and `ipset save` there directly: one process per
listing instead of two (`ip netns exec` forks itself, unshares a mount namespace and
remounts /sys first: 3 ms each, measured in bench/bench_firewall.py's namespaces).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")  # where `ip netns add` binds its namespaces

Runner = Callable[[list[str]], tuple[int, str, str]]
ProcReader = Callable[[str], str | None]

_local = threading.local()


def _setns(fd: int) -> bool:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return bool(libc.setns(fd, CLONE_NEWNET) == 0)


def _join(path: str) -> None:
    """Pool initializer: this thread joins the namespace, or remembers it could not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        _local.joined = False
        return
    try:
        _local.joined = _setns(fd)
    finally:
        os.close(fd)


def joined() -> bool:
    """True in a pool thread that is inside the namespace."""
    return bool(getattr(_local, "joined", False))


def namespace_pool(netns: str | None, workers: int) -> ThreadPoolExecutor:
    """Threads for the listings; for a netns, each thread joins it first (needs root)."""
    if netns is None:
        return ThreadPoolExecutor(max_workers=workers)
    path = netns if "/" in netns else str(NETNS_DIR / netns)
    return ThreadPoolExecutor(max_workers=workers, initializer=_join, initargs=(path,))


def pool_runner(netns: str | None, timeout: float) -> Runner:
    """Run a command in the calling pool thread's namespace; `ip netns exec` where the
    thread could not join (no CAP_SYS_ADMIN, or a name `ip` resolves otherwise)."""

    def run(cmd: list[str]) -> tuple[int, str, str]:
        full = cmd if netns is None or joined() else ["ip", "netns", "exec", netns, *cmd]
        return run_command(full, timeout)

    return run


def run_command(cmd: list[str], timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a listing command; 127 when it is not installed,
    124 when it took longer than timeout (the shell's codes)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except FileNotFoundError:
        return 127, "", f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout:.0f} s"
    return proc.returncode, proc.stdout, proc.stderr


def pool_proc_reader(netns: str | None, run: Runner) -> ProcReader:
    """Read a /proc/net file of the namespace: /proc/thread-self/net from a joined thread."""

    def read(path: str) -> str | None:
        if netns is not None and not joined():
            rc, out, _ = run(["cat", path])
            return out if rc == 0 else None
        if netns is not None and path.startswith("/proc/net/"):
            path = "/proc/thread-self/net/" + path.removeprefix("/proc/net/")
        try:
            return Path(path).read_text()
        except OSError:
            return None

    return read
