"""provider-banned: a real fail2ban (stock asterisk jail, nftables action) bans the
carrier's new address; `check` names the identify and the ban; both fixes bring the
calls back; reset and down leave no fail2ban and no f2b table behind."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab import fail2ban, pbx, scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import run_cli

NEW = scenarios.NEW_CARRIER_ADDRESS


@pytest.fixture
def banned_lab(lab_config: Lab) -> Iterator[Lab]:
    jail_local = lab_config.dir / "fail2ban" / "etc" / "jail.local"
    scenarios.apply(lab_config, "provider-banned", log=lambda _m: None)
    assert jail_local.is_file()
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def _tables(lab: Lab) -> str:
    return subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "list", "tables"],
                          capture_output=True, text=True, check=True).stdout


def _check(lab: Lab) -> dict[str, Any]:
    out = run_cli(lab, "check", "--json", "--listen", "3")
    assert out.returncode == 2, out.stdout + out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_check_names_identify_and_ban_and_both_fixes_work(banned_lab: Lab,
                                                          tmp_path: Path) -> None:
    lab = banned_lab
    assert NEW in fail2ban.banned(lab.dir)
    assert "table inet f2b-table" in _tables(lab)
    result = _check(lab)
    found = [f for f in result["findings"] if f["code"] == "provider-ip-changed-banned"]
    assert found, [f["code"] for f in result["findings"]]
    diagnosis = found[0]
    assert diagnosis["details"]["trunk"] == "carrier"
    assert diagnosis["details"]["address"] == NEW
    assert diagnosis["details"]["jail"] == "asterisk"
    assert f"identify add carrier {NEW}" in diagnosis["fix"]
    assert f"unban {NEW} --jail asterisk" in diagnosis["fix"]
    evidence = " ".join(e["text"] for e in diagnosis["evidence"])
    assert "fail2ban jail asterisk" in evidence
    assert "addr-set-asterisk-udp" in evidence
    assert "min left" in evidence  # the time left, from fail2ban-client
    assert "dropped by inet f2b-table f2b-chain" in evidence  # the engine agrees

    # Fix 1: the identify alone does not bring the calls back while the ban holds.
    fixed = run_cli(lab, "identify", "add", "carrier", NEW, "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    report = lab.call(CallSpec(did="15551230001", source=NEW))
    assert report.answered == 0, report.summary()

    # Fix 2: unban and ignoreip through changes/: reviewed diff, backup, audit, reload.
    jail_local = lab.dir / "fail2ban" / "etc" / "jail.local"
    before = jail_local.read_text()
    dry = run_cli(lab, "unban", NEW, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"+ignoreip = %(known/ignoreip)s {NEW}" in dry.stdout
    assert jail_local.read_text() == before
    lifted = run_cli(lab, "unban", NEW, "--yes", state=tmp_path)
    assert lifted.returncode == 0, lifted.stdout + lifted.stderr
    assert "applied and verified" in lifted.stdout
    assert "no fail2ban set or chain holds it" in lifted.stdout
    assert NEW not in fail2ban.banned(lab.dir)
    assert any(tmp_path.joinpath("backups").iterdir())
    audit = tmp_path.joinpath("audit.log").read_text()
    assert f"stop banning {NEW} in jail asterisk" in audit

    again = run_cli(lab, "unban", NEW, "--jail", "asterisk", "--yes", state=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged: fail2ban jail asterisk ignores 203.0.113.12" in again.stdout

    report = lab.call(CallSpec(did="15551230001", source=NEW))
    assert report.answered == 1, report.summary()
    after = _check_any(lab)
    # Only this story's sender: the lab's logs also hold senders of earlier tests (.13).
    assert not [f for f in after["findings"] if f["code"].startswith(("provider-banned",
                                                                      "provider-ip-changed"))
                and NEW in json.dumps(f)]


def _check_any(lab: Lab) -> dict[str, Any]:
    out = run_cli(lab, "check", "--json")
    assert out.returncode in (0, 1, 2), out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_unban_rolls_back_when_fail2ban_refuses_the_config(banned_lab: Lab,
                                                           tmp_path: Path) -> None:
    """Someone left jail.local broken (fail2ban still runs the old config): the reload
    fails, the file is restored byte for byte, and the ban stays."""
    lab = banned_lab
    jail_local = lab.dir / "fail2ban" / "etc" / "jail.local"
    broken = jail_local.read_text() + "bantime = %(nosuch)s\n"
    jail_local.write_text(broken)
    rolled = run_cli(lab, "unban", NEW, "--jail", "asterisk", "--yes", state=tmp_path)
    # 2: restored, but fail2ban could not be reloaded with the restore either (it is broken)
    assert rolled.returncode == 2, rolled.stdout + rolled.stderr
    assert "the reload after the restore failed too" in rolled.stdout
    assert "fail2ban-client reload failed: ERROR   Failed during configuration: Bad value " \
        "substitution: option 'bantime'" in rolled.stdout
    assert "original files restored byte for byte" in rolled.stdout
    assert jail_local.read_text() == broken
    assert NEW in fail2ban.banned(lab.dir)


def test_reset_and_down_stop_only_our_fail2ban_and_remove_its_table(lab: Lab) -> None:
    scenarios.apply(lab, "provider-banned", log=lambda _m: None)
    state = lab.state()
    assert state is not None
    assert pbx.alive(state.fail2ban_pid)
    ours = state.fail2ban_pid
    second = Lab(f"b2{lab.name[-6:]}")  # one per session lab: xdist workers run side by side
    try:
        second.up(log=lambda _m: None)
        scenarios.apply(second, "provider-banned", log=lambda _m: None)
        theirs = second.state()
        assert theirs is not None
        assert pbx.alive(theirs.fail2ban_pid)
    finally:
        second.down(log=lambda _m: None)
    assert not pbx.alive(theirs.fail2ban_pid)
    assert pbx.alive(ours)  # the other lab's down left our fail2ban alone
    assert "f2b-table" in _tables(lab)
    scenarios.apply(lab, "reset", log=lambda _m: None)
    assert not pbx.alive(ours)
    assert "f2b-table" not in _tables(lab)
