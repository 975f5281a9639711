"""'The provider changed its IP', end to end against the lab, and the rollback paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from trunkconsole.changes.apply import Applier, Step
from trunkconsole.changes.identify import live_matches, plan_identify_add
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.pjsip.addresses import parse_provider_address

from .helpers import run_cli

NEW_IP = "203.0.113.12"


def test_provider_ip_changed_story(lab_config: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    lab = lab_config
    # 1. The carrier moved: its calls from the new address are refused, Asterisk says 401.
    before = lab.call(CallSpec(did="15551230001", source=NEW_IP))
    assert before.rejected == {"401": 1}
    event = lab_ami.wait_event(lambda e: first(e, "event") == "InvalidAccountID", timeout=5)
    assert NEW_IP in first(event, "remoteaddress")
    # 2. The operator adds the new address through the flow.
    out = run_cli(lab, "identify", "add", "carrier", NEW_IP, "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"+match = {NEW_IP}" in out.stdout
    assert "applied and verified" in out.stdout
    # 3. The next call from the new address is routed on the trunk.
    after = lab.call(CallSpec(did="15551230001", source=NEW_IP))
    assert after.answered == 1, after.summary()
    channel = lab_ami.wait_event(lambda e: first(e, "event") == "Newchannel"
                                 and first(e, "channel").startswith("PJSIP/carrier-"),
                                 timeout=5)
    assert first(channel, "exten") == "15551230001"
    # 4. The audit log and the backup exist; the backup holds the original.
    record = json.loads((tmp_path / "audit.log").read_text().splitlines()[-1])
    assert record["result"] == "applied and verified"
    backup_dir = Path(record["backup"])
    [backup] = list(backup_dir.iterdir())
    assert NEW_IP.encode() not in backup.read_bytes()
    assert NEW_IP.encode() in (lab.config_dir / "pjsip.conf").read_bytes()
    assert oct((lab.config_dir / "pjsip.conf").stat().st_mode & 0o777) == oct(0o640)


async def test_reload_asterisk_rejects_is_rolled_back(in_pbx_netns: Lab, lab_config: Lab,
                                                     tmp_path: Path) -> None:
    """An identify with an unknown option: "Module Reloaded", yet Asterisk keeps the old one."""
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.settings import AmiTarget, Secret

    lab = in_pbx_netns
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    plan = plan_identify_add(lab.config_dir, "carrier", parse_provider_address(NEW_IP))
    change = plan.changeset.changes[0]
    broken = change.after.replace(f"match = {NEW_IP}\n".encode(),
                                  f"match = {NEW_IP}\nmatch_everything = yes\n".encode())
    assert broken != change.after
    plan.changeset.changes[0] = type(change)(change.before, broken)
    async with ami_session(AmiTarget(secret=Secret(lab.secret()))) as ami:
        result = await Applier(ami, tmp_path).apply(plan.changeset)
        live = await live_matches(ami, "carrier")
    assert result.rolled_back, result.summary()
    assert "does not match 203.0.113.12" in result.reason
    assert path.read_bytes() == original  # byte for byte
    assert live == ["203.0.113.10/255.255.255.255"]  # live state restored too
    steps = [(p.step, p.ok) for p in result.progress]
    assert (Step.RELOAD, True) in steps
    assert (Step.VERIFY, False) in steps
    assert steps[-1] == (Step.ROLLBACK, True)


def _ami_logins(lab: Lab) -> int:
    log = (lab.log_dir / "security.log").read_text()
    return log.count('SecurityEvent="SuccessfulAuth"') + log.count(
        'SecurityEvent="InvalidPassword"')


@pytest.mark.parametrize(("trunk", "address", "message"), [
    ("carrier", "203.0.113.12\r\nAction: Command", "not a provider address"),
    ("carrier", "0.0.0.0/0", "covers 4294967296 addresses"),
    ("carrier", "203.0.113.12 203.0.113.13", "not a provider address"),
    ("carrier", "[red]x[/red]", "not a provider address"),
    ("carrier", "999.1.1.1", "neither an IP address"),
    ("nosuchtrunk", "203.0.113.12", "no endpoint named 'nosuchtrunk'"),
])
def test_bad_input_touches_nothing(lab_config: Lab, tmp_path: Path, trunk: str, address: str,
                                   message: str) -> None:
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    logins = _ami_logins(lab)
    out = run_cli(lab, "identify", "add", trunk, address, "--yes", state=tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert path.read_bytes() == original
    assert not (tmp_path / "audit.log").exists()
    assert _ami_logins(lab) == logins  # nothing was sent to AMI


def test_dry_run_and_remove(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    out = run_cli(lab, "identify", "add", "carrier", "198.51.100.0/24", "--dry-run", state=tmp_path)
    assert out.returncode == 0
    assert "+match = 198.51.100.0/24" in out.stdout
    assert path.read_bytes() == original
    out = run_cli(lab, "identify", "add", "carrier", "198.51.100.0/24", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stderr
    out = run_cli(lab, "identify", "remove", "carrier", "198.51.100.0/24", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no longer matches" in out.stdout
    assert path.read_bytes() == original


def test_readonly_refuses(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    out = run_cli(lab, "identify", "add", "carrier", NEW_IP, "--yes", state=tmp_path,
                  global_args=("--readonly",))
    assert out.returncode == 3
    assert "read-only" in out.stderr


def test_warns_when_the_firewall_drops_the_new_address(lab_config: Lab, tmp_path: Path) -> None:
    """A fail2ban-style ban on the provider's new address: adding it to the identify is not
    enough, and the review says which rule drops it."""
    lab = lab_config
    ruleset = """table inet tc_test_f2b {
  set banned { type ipv4_addr; elements = { 203.0.113.15 }; }
  chain input {
    type filter hook input priority -5; policy accept;
    ip saddr @banned udp dport 5060 drop comment "fail2ban asterisk"
  }
}
"""
    subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "-f", "-"], input=ruleset,
                   text=True, check=True)
    try:
        out = run_cli(lab, "identify", "add", "carrier", "203.0.113.15", "--dry-run",
                      state=tmp_path)
    finally:
        subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "delete", "table", "inet",
                        "tc_test_f2b"], check=True)
    assert out.returncode == 0, out.stderr
    assert ("warning: the firewall would drop SIP from 203.0.113.15: dropped by "
            "inet tc_test_f2b input") in out.stdout
    clean = run_cli(lab, "identify", "add", "carrier", "203.0.113.16", "--dry-run",
                    state=tmp_path)
    assert "firewall" not in clean.stdout
