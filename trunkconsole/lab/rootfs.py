"""The lab's root filesystem: Debian sid with Asterisk 22, built once and cached.

Debian bookworm has no asterisk package; sid ships Asterisk 22.x. `debootstrap
--variant=minbase sid` takes about 25 s and the asterisk install about 10 s (about 640 MB).
sid's Release file can look expired on a mirror snapshot, hence Check-Valid-Until=false.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.lab.system import require_root, require_tools, run
from trunkconsole.visible import echo

DEFAULT_CACHE = Path("/var/cache/trunkconsole")
CACHE_ENV = "TRUNKCONSOLE_LAB_CACHE"
MIRROR_ENV = "TRUNKCONSOLE_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ROOTFS_NAME = "rootfs-sid-asterisk"
READY_MARKER = ".trunkconsole-ready"
APT = "apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -q"

Log = Callable[[str], None]


def cache_dir(override: Path | None = None) -> Path:
    """Cache directory: --cache-dir, else $TRUNKCONSOLE_LAB_CACHE, else /var/cache/trunkconsole."""
    if override is not None:
        return override
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DEFAULT_CACHE


def rootfs_path(cache: Path) -> Path:
    """Where the ready root filesystem lives inside the cache."""
    return cache / ROOTFS_NAME


def is_ready(rootfs: Path) -> bool:
    """A finished build leaves a marker; a half-built tree never has one."""
    return (rootfs / READY_MARKER).is_file()


@contextmanager
def _build_lock(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_rootfs(cache: Path, *, rebuild: bool = False, log: Log = echo) -> Path:
    """Return a ready root filesystem, building it when missing or when rebuild is asked."""
    rootfs = rootfs_path(cache)
    if is_ready(rootfs) and not rebuild:
        return rootfs
    require_root("building the lab root filesystem")
    require_tools("debootstrap", "chroot", "unshare")
    with _build_lock(cache):
        if is_ready(rootfs) and not rebuild:
            return rootfs  # another process built it while we waited
        staging = cache / f"{ROOTFS_NAME}.building"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _build(staging, log)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        old = cache / f"{ROOTFS_NAME}.old"
        shutil.rmtree(old, ignore_errors=True)
        if rootfs.exists():
            rootfs.rename(old)
        staging.rename(rootfs)
        shutil.rmtree(old, ignore_errors=True)
    return rootfs


def _build(target: Path, log: Log) -> None:
    mirror = os.environ.get(MIRROR_ENV, DEFAULT_MIRROR)
    started = time.monotonic()
    log(f"lab: debootstrap --variant=minbase sid into {target} (about 25 s)")
    run(["debootstrap", "--variant=minbase", "sid", str(target), mirror],
        what="debootstrap of Debian sid", timeout=900)
    # No service may start inside the chroot during package installs.
    policy = target / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    log("lab: installing asterisk inside the root filesystem (about 10 s)")
    # A private mount namespace: /proc is mounted for the installers and vanishes with it.
    script = (
        f"mount -t proc proc {target}/proc && "
        f"chroot {target} sh -c '{APT} update && "
        f"DEBIAN_FRONTEND=noninteractive {APT} install -y --no-install-recommends asterisk && "
        f"{APT} clean'"
    )
    run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        what="installing asterisk in the lab root filesystem", timeout=900)
    version = run(["chroot", str(target), "asterisk", "-V"], what="asterisk -V").stdout.strip()
    if not version.startswith("Asterisk 2"):
        raise OperatorError("the lab root filesystem has no usable Asterisk", evidence=version)
    (target / "lab").mkdir(exist_ok=True)
    (target / READY_MARKER).write_text(f"{version}\n")
    log(f"lab: {version} ready in {time.monotonic() - started:.0f} s")


def asterisk_version(rootfs: Path) -> str:
    """The Asterisk version recorded when the root filesystem was built."""
    try:
        return (rootfs / READY_MARKER).read_text().strip()
    except OSError:
        return "unknown"
