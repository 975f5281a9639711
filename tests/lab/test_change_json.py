"""Every change command's JSON outcome against the lab: applied, unchanged, refused, rolled back.

The rollbacks are real: Asterisk 22 answers "Module Reloaded" and keeps the old object
when it rejects the new one (an identify whose hostname does not resolve, an endpoint
with an enum value it does not know, an identify left without a match), and the
verification catches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.lab import Lab

from .helpers import run_cli

NEW_IP = "203.0.113.12"
STEPS_APPLIED = ["check", "backup", "write", "reload", "verify", "done"]
KEYS = {"ok", "changed", "dry_run", "change", "diff", "steps", "backup", "rolled_back",
        "verified", "findings", "error"}


def change(lab: Lab, *args: str, state: Path) -> tuple[int, dict[str, Any]]:
    """Run a change command with --json; stdout must be exactly one JSON object."""
    out = run_cli(lab, *args, "--json", state=state)
    assert "Traceback" not in out.stderr, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS, out.stdout
    return out.returncode, data


def configs(lab: Lab) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(lab.config_dir.glob("*.conf"))}


def ami_logins(lab: Lab) -> int:
    log = (lab.log_dir / "security.log").read_text()
    return log.count('SecurityEvent="SuccessfulAuth"')


def step_names(data: dict[str, Any]) -> list[str]:
    """The engine's steps; the logger reassertion is left out: its state is keyed by the
    AMI address, 127.0.0.1:5038 in every lab, so another lab's logger test can add it."""
    return [s["step"] for s in data["steps"]
            if s["detail"] != "SIP logger put back after the reload"]


def step(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["steps"] if s["step"] == name)
    return found


def assert_rolled_back(code: int, data: dict[str, Any], before: dict[str, bytes],
                       lab: Lab, state: Path) -> None:
    assert code == 1, data
    assert data["ok"] is False
    assert data["changed"] is False
    assert data["verified"] is False
    assert data["rolled_back"] is True
    assert step(data, "verify")["ok"] is False
    assert {"step": "rollback", "ok": True,
            "detail": "original files restored byte for byte"} in data["steps"]
    assert data["steps"][-1]["step"] == "rollback", data["steps"]
    assert data["steps"][-1]["ok"], data["steps"]
    assert Path(data["backup"]).is_dir()
    assert any(f["code"] == "change-rolled-back" and f["severity"] == "critical"
               for f in data["findings"])
    assert configs(lab) == before  # byte for byte
    # Every attempt is audited, whatever its end (issue 11): the last line is this one.
    record = json.loads((state / "audit.log").read_text().splitlines()[-1])
    assert record["change"] == data["change"]
    assert record["result"].startswith("rolled back"), record["result"]
    assert any(line.startswith("rollback ok") for line in record["steps"]), record["steps"]


def test_identify_add_applied_then_unchanged(lab_config: Lab, lab_ami: AmiProbe,
                                             tmp_path: Path) -> None:
    lab = lab_config
    code, data = change(lab, "identify", "add", "carrier", NEW_IP, "--dry-run", state=tmp_path)
    assert (code, data["changed"], data["dry_run"], data["ok"]) == (0, True, True, True)
    assert f"+match = {NEW_IP}" in data["diff"]
    assert NEW_IP.encode() not in (lab.config_dir / "pjsip.conf").read_bytes()

    code, data = change(lab, "identify", "add", "carrier", NEW_IP, "--yes", state=tmp_path)
    assert code == 0, data
    assert (data["ok"], data["changed"], data["verified"], data["rolled_back"]) == (
        True, True, True, False)
    assert step_names(data) == STEPS_APPLIED
    assert all(s["ok"] for s in data["steps"])
    assert f"+match = {NEW_IP}" in data["diff"]
    [backup] = Path(data["backup"]).iterdir()
    assert NEW_IP.encode() not in backup.read_bytes()
    detail = lab_ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"})
    assert any(NEW_IP in first(m, "match") for m in detail
               if first(m, "event") == "IdentifyDetail")

    after = configs(lab)
    audit_lines = len((tmp_path / "audit.log").read_text().splitlines())
    for extra in ((), ("--dry-run",)):
        code, data = change(lab, "identify", "add", "carrier", NEW_IP, "--yes", *extra,
                            state=tmp_path)
        assert code == 0, data
        assert (data["ok"], data["changed"], data["diff"], data["backup"]) == (
            True, False, "", None)
        assert data["change"] == f"{NEW_IP} already matches trunk carrier"
        assert "pjsip.conf:" in data["steps"][0]["detail"]
    # Unchanged but not a dry run: checked against live Asterisk too.
    code, data = change(lab, "identify", "add", "carrier", NEW_IP, "--yes", state=tmp_path)
    assert data["verified"] is True
    assert step_names(data) == ["plan", "verify"]
    assert configs(lab) == after
    assert len((tmp_path / "audit.log").read_text().splitlines()) == audit_lines


def test_unchanged_on_disk_but_not_live_is_said(lab_config: Lab, tmp_path: Path) -> None:
    """The file holds the address but nobody reloaded: unchanged, verified false, a finding."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    path.write_bytes(path.read_bytes().replace(b"match = 203.0.113.10",
                                               b"match = 203.0.113.10\nmatch = 203.0.113.17"))
    code, data = change(lab, "identify", "add", "carrier", "203.0.113.17", "--yes",
                        state=tmp_path)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, False)
    assert any("live Asterisk does not" in f["title"] for f in data["findings"])


def test_covered_address_is_written_unless_covered_ok(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    code, data = change(lab, "identify", "add", "carrier", "198.51.100.0/24", "--yes",
                        state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    code, data = change(lab, "identify", "add", "carrier", "198.51.100.7", "--dry-run",
                        state=tmp_path)
    assert (code, data["changed"]) == (0, True)
    assert "+match = 198.51.100.7" in data["diff"]
    assert any("already covered by match=198.51.100.0/24" in f["title"]
               for f in data["findings"])
    code, data = change(lab, "identify", "add", "carrier", "198.51.100.7", "--covered-ok",
                        "--yes", state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, False, True), data
    assert "covered by match=198.51.100.0/24" in data["steps"][0]["detail"]
    # Removing an address that only a wider entry matches cannot stop the match: refused.
    before = configs(lab)
    code, data = change(lab, "identify", "remove", "carrier", "198.51.100.7", "--yes",
                        state=tmp_path)
    assert (code, data["ok"]) == (3, False)
    assert "198.51.100.0/24" in data["error"]["what"]
    assert configs(lab) == before


def test_identify_remove_applied_unchanged_rolled_back(lab_config: Lab,
                                                        tmp_path: Path) -> None:
    lab = lab_config
    assert change(lab, "identify", "add", "carrier", NEW_IP, "--yes", state=tmp_path)[0] == 0
    code, data = change(lab, "identify", "remove", "carrier", NEW_IP, "--yes", state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert f"-match = {NEW_IP}" in data["diff"]
    code, data = change(lab, "identify", "remove", "carrier", NEW_IP, "--yes", state=tmp_path)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, True)
    assert data["change"] == f"{NEW_IP} is no match of trunk carrier"
    # The last match: Asterisk rejects an identify without one and keeps the old identify.
    before = configs(lab)
    code, data = change(lab, "identify", "remove", "carrier", "203.0.113.10", "--yes",
                        state=tmp_path)
    assert_rolled_back(code, data, before, lab, tmp_path)
    assert any("last match" in f["title"] for f in data["findings"])


def test_identify_add_rolled_back_when_asterisk_cannot_resolve(lab_config: Lab,
                                                               tmp_path: Path) -> None:
    """A hostname that does not resolve: 22.10 logs "failed when adding resolution results"
    and retains the old identify; verification must not take the old matches as proof."""
    lab = lab_config
    before = configs(lab)
    code, data = change(lab, "identify", "add", "carrier", "sip.invalid", "--yes",
                        state=tmp_path)
    assert_rolled_back(code, data, before, lab, tmp_path)
    assert "does not match sip.invalid" in step(data, "verify")["detail"]


@pytest.mark.parametrize(("args", "message"), [
    (("identify", "add", "carrier", "203.0.113.12\r\nAction: Command"),
     "not a provider address"),
    (("identify", "add", "carrier", "0.0.0.0/0"), "covers 4294967296 addresses"),
    (("identify", "add", "nosuchtrunk", "203.0.113.12"), "no endpoint named 'nosuchtrunk'"),
    (("identify", "remove", "carrier", "203.0.113.300"), "neither an IP address"),
    (("trunk", "add", "carrier2", "--provider-ip", "203.0.113.14", "--did", "15x5",
      "--route-to", "inbound-provider"), "not a number"),
    (("trunk", "add", "carrier", "--provider-ip", "203.0.113.14"),
     "already exists and differs"),
    (("config", "set", "endpoint", "carrier", "no_such_option", "1"), "not an option"),
    (("config", "set", "endpoint", "nosuch", "from_user", "15551230000"), "no endpoint"),
    (("trunk", "add", "carrier9", "--provider-ip", "203.0.113.14", "--from-user",
      "1555\r\nAction: Command"), "from_user '1555\\r\\nAction: Command' is not valid"),
    (("trunk", "add", "car\nrier9", "--provider-ip", "203.0.113.14"), "is not valid"),
    (("config", "set", "endpoint", "carrier", "from_user", "1555\r\nAction: Command"),
     "cannot go into a config line"),
])
def test_refused_input_json(lab_config: Lab, tmp_path: Path, args: tuple[str, ...],
                            message: str) -> None:
    lab = lab_config
    before = configs(lab)
    logins = ami_logins(lab)
    code, data = change(lab, *args, "--yes", state=tmp_path)
    assert code == 3, data
    assert (data["ok"], data["changed"], data["rolled_back"], data["backup"]) == (
        False, False, False, None)
    assert message in data["error"]["what"]
    assert data["steps"] == [{"step": "plan", "ok": False, "detail": data["error"]["what"]}]
    assert configs(lab) == before
    assert not (tmp_path / "audit.log").exists()
    assert ami_logins(lab) == logins  # refused before anything reached Asterisk


def test_trunk_add_applied_unchanged_rolled_back(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    args = ("trunk", "add", "carrier2", "--provider-ip", "203.0.113.14", "--provider-ip",
            "203.0.113.15", "--did", "15551230002", "--route-to", "inbound-provider",
            "--yes")
    code, data = change(lab, *args, state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert step_names(data) == ["check", "backup", "write", "write", "reload", "reload",
                                "verify", "done"]
    after = configs(lab)
    code, data = change(lab, *args, state=tmp_path)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, True)
    assert data["change"] == "trunk carrier2 already exists as asked"
    assert configs(lab) == after
    code, data = change(lab, *args[:-1], "--from-user", "15551230000", "--yes",
                        state=tmp_path)
    assert (code, data["ok"]) == (3, False)
    assert "from_user is '', asked '15551230000'" in data["error"]["evidence"]
    assert configs(lab) == after
    # A provider hostname Asterisk cannot resolve: it rejects the identify, keeps none.
    code, data = change(lab, "trunk", "add", "carrier3", "--provider-ip", "sip.invalid",
                        "--yes", state=tmp_path)
    assert_rolled_back(code, data, after, lab, tmp_path)


def test_config_set_applied_unchanged_rolled_back(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    args = ("config", "set", "endpoint", "carrier", "from_user", "15551230000", "--yes")
    code, data = change(lab, *args, state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    code, data = change(lab, *args, state=tmp_path)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, True)
    # Another spelling of the same boolean is the same state.
    code, data = change(lab, "config", "set", "endpoint", "carrier", "rtp_symmetric", "true",
                        "--yes", state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, False, True), data
    # An enum value Asterisk rejects: "Module Reloaded", the old endpoint stays.
    before = configs(lab)
    code, data = change(lab, "config", "set", "endpoint", "carrier", "dtmf_mode", "bogus",
                        "--yes", state=tmp_path)
    assert_rolled_back(code, data, before, lab, tmp_path)
    assert "live state after restore: endpoint carrier: dtmf_mode is 'rfc4733'" in \
        data["steps"][-1]["detail"]


def test_secrets_are_masked_in_json(lab_config: Lab, tmp_path: Path) -> None:
    """An auth password set through `config set`: not in the JSON, applied or refused."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    path.write_bytes(path.read_bytes() + b"\n[carrier-auth]\ntype = auth\nauth_type = userpass"
                     b"\nusername = pbx\npassword = old-Secret-1\n")
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    secret = "n3w-S3cret-%x"
    out = run_cli(lab, "config", "set", "auth", "carrier-auth", "password", secret, "--yes",
                  "--json", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["changed"] is True
    assert "-password = ********" in data["diff"]
    assert "+password = ********" in data["diff"]
    for text in (out.stdout, out.stderr):
        assert secret not in text
        assert "old-Secret-1" not in text
    assert secret.encode() in path.read_bytes()
    bad = "s3cret\nwith-newline"
    out = run_cli(lab, "config", "set", "auth", "carrier-auth", "password", bad, "--yes",
                  "--json", state=tmp_path)
    assert out.returncode == 3
    assert "s3cret" not in out.stdout
    assert "with-newline" not in out.stdout
    assert "cannot go into a config line" in json.loads(out.stdout)["error"]["what"]


def test_from_file_is_one_transaction(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    good = tmp_path / "carrier.txt"
    good.write_text("# carrier's new signalling addresses\n203.0.113.10\n\n203.0.113.12\n"
                    "203.0.113.13  # second site\n")
    code, data = change(lab, "identify", "add", "carrier", "--from-file", str(good), "--yes",
                        state=tmp_path / "state")
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert step_names(data) == STEPS_APPLIED  # one write, one reload, one verification
    assert "+match = 203.0.113.12\n+match = 203.0.113.13\n" in data["diff"]
    assert "203.0.113.12, 203.0.113.13" in step(data, "verify")["detail"]
    after = configs(lab)
    code, data = change(lab, "identify", "add", "carrier", "--from-file", str(good), "--yes",
                        state=tmp_path / "state")
    assert (code, data["changed"]) == (0, False)
    bad = tmp_path / "bad.txt"
    bad.write_text("203.0.113.14\n203.0.113.15\n203.0.113.16;reboot\n203.0.113.17\n")
    logins = ami_logins(lab)
    code, data = change(lab, "identify", "add", "carrier", "--from-file", str(bad), "--yes",
                        state=tmp_path / "state")
    assert (code, data["ok"], data["changed"]) == (3, False, False)
    assert data["error"]["what"] == f"{bad}:3: '203.0.113.16;reboot' is not a provider address"
    assert configs(lab) == after
    assert ami_logins(lab) == logins


def test_trunk_by_contact_names_the_trunk(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    code, data = change(lab, "identify", "add", "--trunk-by-contact", "203.0.113.10", NEW_IP,
                        "--yes", state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert data["change"] == f"add {NEW_IP} to the identify of trunk carrier"
    code, data = change(lab, "config", "set", "endpoint", "--trunk-by-contact", "203.0.113.10",
                        "from_user", "15551230000", "--yes", state=tmp_path)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert data["change"] == "set from_user = 15551230000 on endpoint carrier"
    before = configs(lab)
    code, data = change(lab, "identify", "add", "--trunk-by-contact", "192.0.2.99", NEW_IP,
                        "--yes", state=tmp_path)
    assert (code, data["ok"]) == (3, False)
    assert data["error"]["what"] == "no trunk has 192.0.2.99 as contact or identify match"
    assert configs(lab) == before


def test_text_mode_says_unchanged(lab_config: Lab, tmp_path: Path) -> None:
    out = run_cli(lab_config, "identify", "add", "carrier", "203.0.113.10", "--yes",
                  state=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("unchanged: 203.0.113.10 already matches trunk carrier\n")
    assert "match=203.0.113.10 at pjsip.conf:" in out.stdout
