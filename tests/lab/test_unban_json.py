"""unban through --json against a real fail2ban (the provider-banned scenario): dry run,
refused, rolled back, applied, unchanged: each one object with the documented keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab import fail2ban, scenarios
from trunkconsole.lab.lab import Lab

from .test_change_json import change

NEW = scenarios.NEW_CARRIER_ADDRESS


@pytest.fixture
def banned_lab(lab_config: Lab) -> Iterator[Lab]:
    scenarios.apply(lab_config, "provider-banned", log=lambda _m: None)
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_unban_json(banned_lab: Lab, tmp_path: Path) -> None:
    """unban (a real fail2ban banning the carrier's new address): dry run, applied,
    unchanged, refused, and a rollback when fail2ban refuses its config, each one object."""
    lab = banned_lab
    state = tmp_path / "state"
    jail_local = lab.dir / "fail2ban" / "etc" / "jail.local"
    before = (jail_local.read_bytes(), jail_local.stat().st_mtime_ns)
    code, data = change(lab, "unban", NEW, "--jail", "asterisk", "--dry-run", state=state)
    assert (code, data["ok"], data["changed"], data["dry_run"]) == (0, True, True, True), data
    assert f"+ignoreip = %(known/ignoreip)s {NEW}" in data["diff"]
    assert (jail_local.read_bytes(), jail_local.stat().st_mtime_ns) == before
    assert NEW in fail2ban.banned(lab.dir)
    code, data = change(lab, "unban", "203.0.113.300", "--jail", "asterisk", "--yes",
                        state=state)
    assert (code, data["ok"], data["changed"]) == (3, False, False), data
    assert (jail_local.read_bytes(), jail_local.stat().st_mtime_ns) == before

    # Someone left jail.local broken: fail2ban refuses the reload, the file comes back.
    good = jail_local.read_bytes()
    jail_local.write_bytes(good + b"bantime = %(nosuch)s\n")
    broken = jail_local.read_bytes()
    code, data = change(lab, "unban", NEW, "--jail", "asterisk", "--yes", state=state)
    assert (code, data["ok"], data["changed"], data["rolled_back"]) == (2, False, False,
                                                                         True), data
    assert any(f["code"] == "change-not-restored" for f in data["findings"]), data
    assert jail_local.read_bytes() == broken
    assert NEW in fail2ban.banned(lab.dir)
    jail_local.write_bytes(good)

    code, data = change(lab, "unban", NEW, "--jail", "asterisk", "--yes", state=state)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, True, True), data
    assert NEW not in fail2ban.banned(lab.dir)
    code, data = change(lab, "unban", NEW, "--jail", "asterisk", "--yes", state=state)
    assert (code, data["ok"], data["changed"]) == (0, True, False), data
    assert data["change"] == f"fail2ban jail asterisk ignores {NEW} and does not ban it"
