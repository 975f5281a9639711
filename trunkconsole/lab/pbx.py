"""Asterisk inside the lab: configs rendered per lab, run chrooted in the PBX namespace.

Asterisk runs as `ip netns exec NS unshare --mount ... chroot ROOTFS asterisk -f`, in a
private mount namespace where the lab's own directory is bound at ROOTFS/lab and /proc is
mounted: those mounts exist only while Asterisk runs and vanish with it, and two labs can
share one cached root filesystem. Every `exec` keeps one pid from `ip` to `asterisk`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.system import spawn
from trunkconsole.resources import sample_configs_dir

AMI_USER = "trunkconsole"
CONFIG_FILES = ("asterisk.conf", "modules.conf", "logger.conf", "manager.conf",
                "pjsip.conf", "extensions.conf", "rtp.conf")
STATE_DIRS = ("etc", "log", "run", "spool", "db", "cache")


def render_configs(lab_dir: Path, secret: str | None = None) -> str:
    """Write the lab's Asterisk configs under lab_dir/etc; return the AMI secret (new
    unless given)."""
    for sub in STATE_DIRS:
        (lab_dir / sub).mkdir(parents=True, exist_ok=True)
    secret = secret or secrets.token_hex(16)
    source = sample_configs_dir() / "lab"
    for name in CONFIG_FILES:
        text = (source / name).read_text().replace("@AMI_SECRET@", secret)
        target = lab_dir / "etc" / name
        target.write_text(text)
        target.chmod(0o640)
    secret_file = lab_dir / "ami.secret"
    secret_file.touch(mode=0o600)
    secret_file.chmod(0o600)
    secret_file.write_text(secret + "\n")
    return secret


def start(rootfs: Path, lab_dir: Path, netns: str) -> int:
    """Start Asterisk in the background; return its pid."""
    script = (
        f"mount --bind {lab_dir} {rootfs}/lab && mount -t proc proc {rootfs}/proc && "
        f"exec chroot {rootfs} /usr/sbin/asterisk -f -C /lab/etc/asterisk.conf"
    )
    return spawn(["ip", "netns", "exec", netns, "unshare", "--mount", "--propagation",
                  "private", "sh", "-c", script], lab_dir / "log" / "asterisk.out")


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_fully_booted(pid: int, netns: str, secret: str, lab_dir: Path,
                      timeout: float = 60.0) -> str:
    """Block until AMI answers and Asterisk reports FullyBooted; return its version."""
    deadline = time.monotonic() + timeout
    last_error = "AMI not answering yet"
    while time.monotonic() < deadline:
        if not alive(pid):
            _reap(pid)
            raise OperatorError("Asterisk exited during start-up",
                                evidence=_log_tail(lab_dir))
        try:
            with AmiProbe(netns, AMI_USER, secret, timeout=5) as ami:
                ami.wait_event(lambda e: first(e, "event") == "FullyBooted",
                               timeout=max(0.1, deadline - time.monotonic()))
                settings = ami.action({"Action": "CoreSettings"})[0]
                return first(settings, "asteriskversion")
        except (OSError, TimeoutError, OperatorError) as exc:
            last_error = str(exc)
            time.sleep(0.1)
    raise OperatorError("Asterisk did not report FullyBooted in time",
                        evidence=f"{last_error}; {_log_tail(lab_dir)}")


def _log_tail(lab_dir: Path, lines: int = 5) -> str:
    for name in ("messages.log", "asterisk.out"):
        try:
            text = (lab_dir / "log" / name).read_text(errors="replace").strip()
        except OSError:
            continue
        if text:
            return " | ".join(text.splitlines()[-lines:])
    return "no log output"


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """Stop a process we started, by pid: SIGTERM (Asterisk: quick shutdown), then SIGKILL."""
    if not alive(pid):
        _reap(pid)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not alive(pid):
                return
            time.sleep(0.05)
    raise OperatorError(f"process {pid} did not stop")
