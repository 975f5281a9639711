"""`trunkconsole bundle` on the lab PBX: every part present, no secret anywhere in it."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.bundle.collect import REDACTED
from trunkconsole.lab import scenarios
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import run_cli
from .watch_helpers import events, running_watch, wait_for

PASSWORD = "Zq9-trunk-auth-password-Xy7"


def test_bundle_has_every_part_and_no_secret(lab_config: Lab, lab_ami: AmiProbe,
                                             tmp_path: Path) -> None:
    lab = lab_config
    pjsip = lab.config_dir / "pjsip.conf"
    pjsip.write_text(pjsip.read_text() + "\n[carrier-out-auth]\ntype = auth\n"
                     f"auth_type = userpass\nusername = pbx1\npassword = {PASSWORD}\n")
    lab_ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    output = tmp_path / "b.tar.gz"
    out = run_cli(lab, "bundle", "--output", str(output), "--since", "10m",
                  "--journal", str(tmp_path / "none.sqlite"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(output) as tar:
        members = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                   for m in tar.getmembers() if m.isfile()}
    for part in ("MANIFEST.txt", "versions.txt", "config/pjsip-resolved.json",
                 "config/identifies.json", "findings.json", "firewall/verdicts.json",
                 "firewall/nft-ruleset.txt", "asterisk/pjsip-show-channelstats.txt",
                 "asterisk/core-show-version.txt", "asterisk-logs/excerpt.log"):
        assert part in members, sorted(members)
    assert "22.10" in members["asterisk/core-show-version.txt"]
    assert "carrier-out-auth" in members["config/pjsip-resolved.json"]
    assert "203.0.113.10" in members["config/identifies.json"]
    assert "journal: none at" in members["MANIFEST.txt"]
    secret = lab.secret()
    for name, text in members.items():
        assert PASSWORD not in text, name
        assert secret not in text, name


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    run_cli(lab_config, "logger", "off")
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def _members(path: Path) -> dict[str, str]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}


def test_a_password_copied_into_logs_journal_and_capture_is_redacted(
        scenario_lab: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    """The auth password arrives as the From user of INVITEs from an unknown address (an
    operator's test, or a guess): Asterisk's security log, watch's journal and the SIP
    logger's capture all carry it; the bundle carries none of it."""
    lab = scenario_lab
    pjsip = lab.config_dir / "pjsip.conf"
    pjsip.write_text(pjsip.read_text() + "\n[carrier-out-auth]\ntype = auth\n"
                     f"auth_type = userpass\nusername = pbx1\npassword = {PASSWORD}\n")
    lab_ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    journal = tmp_path / "journal.sqlite"
    moved = scenarios.NEW_CARRIER_ADDRESS
    with running_watch(lab, journal, tmp_path, "--no-metrics"):
        wait_for("the first listing", lambda: events(journal, "contact-reachable"))
        on = run_cli(lab, "logger", "on", "--address", moved, "--for", "120")
        assert on.returncode == 0, on.stdout + on.stderr
        lab.set_carrier("answer", moved)
        lab.call(CallSpec(did="15551230001", source=moved, from_user=PASSWORD, count=2,
                          rate=2, duration=0.5))
    # watch writes the senders it counted when it stops
    output = tmp_path / "b.tar.gz"
    out = run_cli(lab, "bundle", "--output", str(output), "--since", "10m",
                  "--journal", str(journal))
    assert out.returncode == 0, out.stdout + out.stderr
    members = _members(output)
    for part in ("journal/history.json", "sip-logger/capture.txt",
                 "asterisk-logs/excerpt.log"):
        assert part in members, sorted(members)
        assert REDACTED in members[part], part  # it was there, and it was replaced
    assert moved in members["journal/history.json"]
    assert "INVITE sip:15551230001" in members["sip-logger/capture.txt"]
    for name, text in members.items():
        assert PASSWORD not in text, name
        assert lab.secret() not in text, name
    redacted = next(line for line in members["MANIFEST.txt"].splitlines()
                    if line.startswith("secret values redacted:"))
    assert int(redacted.split(":")[1]) >= 3
