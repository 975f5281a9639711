"""Wrong secret, AMI disabled, a user without read=security: each says what is wrong."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.live_helpers import eventually, lab_target, live
from trunkconsole.ami.connection import State
from trunkconsole.ami.credentials import discover, read_manager_conf
from trunkconsole.errors import OperatorError
from trunkconsole.lab.lab import Lab


@pytest.fixture
def manager_conf(lab: Lab) -> Iterator[Path]:
    """The lab's manager.conf, restored (and Asterisk made to re-read it) afterwards."""
    path = Path(lab.config_dir) / "manager.conf"
    original = path.read_text()
    yield path
    path.write_text(original)
    try:
        with lab.ami() as ami:
            ami.command("manager reload")
    except (OSError, OperatorError):
        lab.restart_asterisk()  # AMI was switched off: only a restart brings it back


def status_cli(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "status",
         "--config-dir", str(lab.config_dir), *args],
        capture_output=True, text=True, timeout=60, check=False)


async def test_wrong_secret_is_final_and_clear(in_pbx_netns: Lab, tmp_path: Path) -> None:
    async with live(in_pbx_netns, lab_target(in_pbx_netns, secret="wrong-secret"),
                    wait=False) as session:
        await eventually(lambda: session.status.state is State.FAILED)
        assert session.status.reason == (
            "authentication failed for user trunkconsole at 127.0.0.1:5038")
    secret_file = tmp_path / "secret"
    secret_file.write_text("wrong-secret\n")
    proc = status_cli(in_pbx_netns, "--secret-file", str(secret_file))
    assert proc.returncode == 3
    assert "authentication failed for user trunkconsole at 127.0.0.1:5038" in proc.stderr
    assert "wrong-secret" not in proc.stdout + proc.stderr


async def test_user_without_security_class_is_named(in_pbx_netns: Lab,
                                                    manager_conf: Path) -> None:
    lab = in_pbx_netns
    secret = secrets.token_hex(8)
    manager_conf.write_text(manager_conf.read_text() + f"\n[nosec]\nsecret = {secret}\n"
                            "read = system, call, security\nwrite = system\n")
    with lab.ami() as ami:
        ami.command("manager reload")
    users = {u.name: u for u in read_manager_conf(Path(lab.config_dir)).users}
    assert users["nosec"].missing() == {"read": ["call", "security"], "write": []}
    async with live(lab, lab_target(lab, username="nosec", secret=secret)) as session:
        await eventually(lambda: bool(session.problems), timeout=12)
        assert any("AMI user 'nosec' lacks read=security" in p for p in session.problems)
        assert session.status.state is State.CONNECTED  # usable, with the gap said
        assert "carrier" in session.state.endpoints
    # The CLI, asked for that user, says which classes are missing and why.
    proc = status_cli(lab, "--username", "nosec", "--json")
    assert '"problems"' in proc.stdout
    assert "lacks read=security" in proc.stdout
    assert secret not in proc.stdout + proc.stderr


async def test_ami_disabled_is_said_both_ways(in_pbx_netns: Lab, manager_conf: Path) -> None:
    lab = in_pbx_netns
    manager_conf.write_text(manager_conf.read_text().replace("enabled = yes", "enabled = no"))
    with lab.ami() as ami:
        ami.command("manager reload")
    with pytest.raises(OperatorError, match="AMI is disabled in"):
        discover(Path(lab.config_dir))
    async with live(lab, lab_target(lab), wait=False) as session:
        await eventually(lambda: session.status.state is State.RECONNECTING
                         and "nothing listens" in session.status.reason)
        assert "is AMI enabled" in session.status.reason
    proc = status_cli(lab)
    assert proc.returncode != 0
    assert "AMI is disabled in" in proc.stderr
