"""Issue 16, the failing side of every change command through the real CLI against the
lab PBX: AMI down, usage errors, a broken config.yaml, --json without a way to confirm,
a Reload the AMI user may not send, a log file Asterisk cannot open, an aor value
Asterisk rejects: one JSON object each, the documented exit status, nothing left changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab

from .helpers import run_cli
from .test_change_checkmode import (
    _without_security_log,
    commands,
    file_states,
    reloads,
)
from .test_change_json import KEYS, ami_logins, change, configs


@pytest.fixture
def addresses(tmp_path: Path) -> Path:
    path = tmp_path / "addresses.txt"
    path.write_text("203.0.113.12\n203.0.113.13\n")
    return path


@pytest.mark.parametrize("name", list(commands(Path("x"))))
def test_ami_down_is_one_json_object(lab_config: Lab, tmp_path: Path, addresses: Path,
                                     name: str) -> None:
    """AMI not answering (a port nothing listens on): refused before any write."""
    lab = lab_config
    _without_security_log(lab)
    before = file_states(lab)
    code, data = change(lab, *commands(addresses)[name], "--yes", "--port", "5999",
                        state=tmp_path / "state")
    assert code == 3, data
    assert (data["ok"], data["changed"], data["backup"], data["rolled_back"]) == (
        False, False, None, False)
    assert "nothing listens on 127.0.0.1:5999" in data["error"]["what"]
    assert data["steps"] == [{"step": "check", "ok": False, "detail": data["error"]["what"]}]
    assert data["diff"].startswith("--- "), data  # what it would have done
    assert file_states(lab) == before
    assert not (tmp_path / "state" / "backups").exists()


@pytest.mark.parametrize("args", [("logger", "on", "--trunk", "carrier"),
                                  ("logger", "off")])
def test_logger_on_off_ami_down_json(lab: Lab, args: tuple[str, ...]) -> None:
    out = run_cli(lab, *args, "--json", "--port", "5999")
    assert out.returncode == 3, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert (data["ok"], data["changed"]) == (False, False)
    assert "nothing listens on 127.0.0.1:5999" in data["error"]["what"]


@pytest.mark.parametrize("args", [
    ("identify", "add", "carrier", "203.0.113.12", "--no-such-flag"),
    ("trunk", "add", "carrier2", "--provider-ip", "203.0.113.14", "--qualify", "often"),
    ("config", "set", "endpoint"),
    ("logger", "on", "--for", "a-while"),
])
def test_usage_error_is_refused_with_json(lab_config: Lab, tmp_path: Path,
                                          args: tuple[str, ...]) -> None:
    """argparse's own refusals: exit 3 (not argparse's 2, which a change command uses for
    'not as it was'), the JSON object on stdout, the usage on stderr."""
    lab = lab_config
    before = file_states(lab)
    out = run_cli(lab, *args, "--json", state=tmp_path / "state")
    assert out.returncode == 3, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert data["ok"] is False
    assert data["error"]["what"].startswith(f"trunkconsole {args[0]} {args[1]}: ")
    assert "usage: trunkconsole" in out.stderr
    plain = run_cli(lab, *args, state=tmp_path / "state")
    assert (plain.returncode, plain.stdout) == (3, ""), plain.stdout + plain.stderr
    assert "error:" in plain.stderr
    assert file_states(lab) == before


def test_broken_settings_file_is_one_json_object(lab_config: Lab, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An error before anything is planned (config.yaml unreadable) still comes as JSON."""
    settings = tmp_path / "config.yaml"
    settings.write_text("ami: [\n")
    monkeypatch.setenv("TRUNKCONSOLE_CONFIG", str(settings))
    out = run_cli(lab_config, "identify", "add", "carrier", "203.0.113.12", "--dry-run",
                  "--json")
    assert out.returncode == 3, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert "is not valid YAML" in data["error"]["what"]


def test_config_set_on_aor_identify_is_verified_and_rolled_back(lab_config: Lab,
                                                                tmp_path: Path) -> None:
    """An aor or identify option is read back from the endpoint's AorDetail/IdentifyDetail:
    a value Asterisk rejects (it keeps the old aor, "Module Reloaded" all the same) is
    rolled back instead of left in the file with exit 0."""
    lab = lab_config
    state = tmp_path / "state"
    code, data = change(lab, "config", "set", "aor", "carrier", "qualify_timeout", "3",
                        "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert {"step": "verify", "ok": True,
            "detail": "aor carrier: qualify_timeout is '3.000000' in Asterisk"} in data["steps"]
    code, data = change(lab, "config", "set", "identify", "carrier", "srv_lookups", "no",
                        "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    code, data = change(lab, "config", "set", "identify", "carrier", "srv_lookups", "false",
                        "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, False, True), data
    before = configs(lab)
    code, data = change(lab, "config", "set", "aor", "carrier", "qualify_frequency", "often",
                        "--yes", state=state)
    assert (code, data["ok"], data["rolled_back"], data["verified"]) == (1, False, True,
                                                                        False), data
    assert "live state after restore: aor carrier: qualify_frequency is '10' in Asterisk" in \
        data["steps"][-1]["detail"]
    assert configs(lab) == before
    # Nothing live to compare with (a transport is not dumped per option): applied, said so.
    code, data = change(lab, "config", "set", "transport", "transport-udp", "tos", "cs3",
                        "--yes", state=state)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, True, False)
    assert data["steps"][-1] == {"step": "done", "ok": True, "detail": "applied; not verified "
                                 "live (nothing to compare it with)"}



@pytest.fixture
def unwritable_security_log(lab_config: Lab) -> Iterator[Lab]:
    """security.log is a directory: Asterisk cannot open it, `logger show channels` says
    Disabled. The real file, logger.conf and Asterisk's logger are put back afterwards."""
    lab = lab_config
    log = lab.log_dir / "security.log"
    kept = lab.log_dir / "security.log.kept"
    logger_conf = (lab.config_dir / "logger.conf").read_bytes()
    log.rename(kept)
    log.mkdir()
    try:
        yield lab
    finally:
        log.rmdir()
        kept.rename(log)
        (lab.config_dir / "logger.conf").write_bytes(logger_conf)
        with lab.ami() as ami:
            ami.action({"Action": "Reload", "Module": "logger"})


def test_logs_enable_rolled_back_when_asterisk_cannot_log(unwritable_security_log: Lab,
                                                          tmp_path: Path) -> None:
    lab = unwritable_security_log
    _without_security_log(lab)
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "logger"})
    before = configs(lab)
    code, data = change(lab, "logs", "enable", "--yes", state=tmp_path / "state")
    assert code == 1, data
    assert (data["ok"], data["changed"], data["rolled_back"], data["verified"]) == (
        False, False, True, False)
    assert {"step": "verify", "ok": False,
            "detail": "`logger show channels` does not list security.log as enabled"} in \
        data["steps"]
    assert data["steps"][-1] == {"step": "rollback", "ok": True,
                                 "detail": "Asterisk reloaded with the originals"}
    assert configs(lab) == before


@pytest.mark.parametrize(("extra", "message"), [
    ((), "not applied: --json needs --yes to apply (or --dry-run to check)"),
    (("--yes", "--confirm-within", "5"),
     "--confirm-within needs a person at a terminal, not --json"),
])
def test_json_without_a_way_to_confirm_is_refused(lab_config: Lab, tmp_path: Path,
                                                  extra: tuple[str, ...],
                                                  message: str) -> None:
    lab = lab_config
    before, logins = file_states(lab), ami_logins(lab)
    code, data = change(lab, "identify", "add", "carrier", "203.0.113.12", *extra,
                        state=tmp_path / "state")
    assert (code, data["ok"], data["changed"]) == (3, False, False), data
    assert data["error"]["what"] == message
    # The same refusal as one plain line on stderr, for a playbook's stderr_lines.
    out = run_cli(lab, "identify", "add", "carrier", "203.0.113.12", "--json", *extra,
                  state=tmp_path / "state")
    assert out.stderr.startswith(f"trunkconsole: {message}\n"), out.stderr
    assert file_states(lab) == before
    assert ami_logins(lab) == logins


def test_auth_password_is_set_without_showing_it(lab_config: Lab, tmp_path: Path) -> None:
    """An auth the endpoint uses: AuthDetail would carry the password in clear, and our AMI
    client drops that header, so the change is applied and said to be unverified; the
    password is in no output, no progress line and no audit line."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    path.write_bytes(path.read_bytes().replace(b"aors = carrier\n",
                                               b"aors = carrier\noutbound_auth = carrier-auth\n")
                     + b"\n[carrier-auth]\ntype = auth\nauth_type = userpass\nusername = pbx"
                     b"\npassword = old-Secret-1\n")
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    secret = "n3w-S3cret-%x"
    state = tmp_path / "state"
    out = run_cli(lab, "config", "set", "auth", "carrier-auth", "password", secret, "--yes",
                  "--json", state=state)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert (data["changed"], data["verified"], data["rolled_back"]) == (True, False, False)
    assert data["steps"][-1]["detail"] == "applied; not verified live (nothing to compare it with)"
    for text in (out.stdout, out.stderr, (state / "audit.log").read_text()):
        assert secret not in text
        assert "old-Secret-1" not in text
    with lab.ami() as ami:
        detail = ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"})
    assert [first(m, "password") for m in detail if first(m, "event") == "AuthDetail"] == [
        secret]


@pytest.fixture
def limited_ami_user(lab_config: Lab, tmp_path: Path) -> Iterator[Path]:
    """A second AMI user that may not reload (write without system or config); its
    secret file. manager.conf and Asterisk's users are put back afterwards."""
    lab = lab_config
    path = lab.config_dir / "manager.conf"
    original = path.read_bytes()
    path.write_bytes(original + b"\n[limited]\nsecret = limited-Secret-42\n"
                     b"deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
                     b"read = system,call,security,reporting,dialplan,user\n"
                     b"write = command,reporting\n")
    secret = tmp_path / "limited.secret"
    secret.write_text("limited-Secret-42\n")
    with lab.ami() as ami:
        ami.command("manager reload")
    try:
        yield secret
    finally:
        path.write_bytes(original)
        with lab.ami() as ami:
            ami.command("manager reload")


@pytest.mark.parametrize("args", [
    ("identify", "add", "carrier", "203.0.113.12"),
    ("config", "set", "endpoint", "carrier", "from_user", "15551230000"),
    ("did", "route", "carrier", "--pilot", "15550000000"),
    ("trunk", "add", "carrier2", "--provider-ip", "203.0.113.14", "--did", "15551230002",
     "--route-to", "inbound-provider"),
])
def test_reload_not_permitted_is_a_clean_rollback(lab_config: Lab, limited_ami_user: Path,
                                                  tmp_path: Path,
                                                  args: tuple[str, ...]) -> None:
    """Asterisk refuses the Reload before running it ("Permission denied"): nothing was
    reloaded, so the restored files are the whole rollback (exit 1, not 2)."""
    lab = lab_config
    before, reloaded = configs(lab), reloads(lab)
    code, data = change(lab, *args, "--yes", "--username", "limited", "--secret-file",
                        str(limited_ami_user), state=tmp_path / "state")
    assert code == 1, data
    assert (data["ok"], data["changed"], data["rolled_back"], data["verified"]) == (
        False, False, True, False)
    assert next(s for s in data["steps"] if s["step"] == "reload")["detail"].endswith(
        ": Permission denied")
    assert data["steps"][-1] == {"step": "rollback", "ok": True,
                                 "detail": "original files restored byte for byte"}
    assert any("needs write=system or write=config" in f["title"] for f in data["findings"])
    assert configs(lab) == before
    assert reloads(lab) == reloaded
