"""Small wrappers around the host tools the lab needs (ip, debootstrap, sipp, chroot)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from trunkconsole.errors import MissingToolError, NotRootError, OperatorError

# tool -> Debian package that provides it
TOOLS: dict[str, str] = {
    "ip": "iproute2",
    "debootstrap": "debootstrap",
    "sipp": "sip-tester",
    "nft": "nftables",
    "fail2ban-server": "fail2ban",
    "fail2ban-client": "fail2ban",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "chroot": "coreutils",
}


def require_root(action: str) -> None:
    """Refuse clearly when not root: namespaces, chroot and mounts need it."""
    if os.geteuid() != 0:
        raise NotRootError(
            f"{action} needs root (network namespaces, chroot and mounts)",
            fix="run it as root, e.g. with sudo",
        )


def require_tools(*tools: str) -> None:
    """Raise MissingToolError naming the apt package of the first missing tool."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise MissingToolError(tool, TOOLS.get(tool, tool))


def missing_tools(*tools: str) -> list[str]:
    """Names of the missing tools, with their packages, for skip reasons."""
    return [f"{t} (apt-get install {TOOLS.get(t, t)})" for t in tools if shutil.which(t) is None]


def spawn(cmd: Sequence[str], output: Path) -> int:
    """Start a long-running process of the lab in its own session, output appended to a
    file; returns its pid (stopped later by pid, never by name)."""
    with open(output, "ab") as out:
        proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid


def run(cmd: Sequence[str], *, what: str, timeout: float = 60, check: bool = True,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise an OperatorError quoting its stderr."""
    try:
        proc = subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=timeout, input=input_text,
        )
    except subprocess.TimeoutExpired as exc:
        raise OperatorError(f"{what}: timed out after {timeout:.0f} s",
                            evidence=" ".join(cmd)) from exc
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise OperatorError(f"{what} failed (exit {proc.returncode})",
                            evidence=f"{' '.join(cmd)}: {' | '.join(tail)}")
    return proc
