"""The command line as operators and scripts use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import trunkconsole

TRUNKCONSOLE = [sys.executable, "-m", "trunkconsole"]


def run(*args: str, env: dict[str, str] | None = None,
        prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), *TRUNKCONSOLE, *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"trunkconsole {trunkconsole.__version__}"


def test_help_lists_subcommands() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "lab" in out.stdout
    lab_help = run("lab", "--help")
    for action in ("up", "down", "status", "call", "carrier", "console", "prepare"):
        assert action in lab_help.stdout


def test_secret_is_not_accepted_on_argv() -> None:
    out = run("--secret=hunter2")
    assert out.returncode == 2
    assert "unrecognized arguments" in out.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to drop to nobody with setpriv")
def test_lab_refuses_without_root() -> None:
    # A real unprivileged user, not a patched geteuid. The checkout and the venv may sit
    # in directories nobody cannot read: give it a world-readable copy of the package
    # (the lab commands need nothing outside the standard library before the root check).
    work = Path(tempfile.mkdtemp(prefix="tc-nobody-"))
    try:
        shutil.copytree(Path(trunkconsole.__file__).parent, work / "trunkconsole",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(work), "HOME": str(work),
               "PYTHONDONTWRITEBYTECODE": "1"}
        out = subprocess.run(
            ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
             os.path.realpath(sys.executable), "-m", "trunkconsole", "lab", "up",
             "--name", "nobody"],
            capture_output=True, text=True, env=env, timeout=60, cwd=work)
    finally:
        shutil.rmtree(work)
    assert out.returncode == 3, out.stderr
    assert "needs root" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_lab_names_missing_tool_and_package(tmp_path: Path) -> None:
    # A PATH holding everything the lab needs except sipp.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("ip", "unshare", "nsenter", "chroot", "debootstrap"):
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bindir)}
    out = run("lab", "up", "--name", "notools", env=env)
    assert out.returncode == 3
    assert "'sipp' is not installed" in out.stderr
    assert "apt-get install sip-tester" in out.stderr


def test_bad_lab_name_is_refused() -> None:
    out = run("lab", "status", "--name", "../etc")
    assert out.returncode == 3
    assert "not valid" in out.stderr
