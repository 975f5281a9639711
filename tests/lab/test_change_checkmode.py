"""Issue 16 audited on every change command, through the real CLI against the lab PBX:
check mode (--dry-run) changes no byte and no mtime and reaches no Asterisk; "unchanged"
when the state holds; --from-file is one reload as Asterisk's own log counts it, and a bad
line changes nothing; --trunk-by-contact on a PBX whose sections have other names. The
failing side (AMI down, usage errors, rollbacks) is in test_change_refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab

from .helpers import run_cli
from .test_change_json import KEYS, ami_logins, change

RELOADING = re.compile(r"Reloading module '([^']+)'")


def file_states(lab: Lab) -> dict[str, tuple[bytes, int]]:
    """Every file of the config directory: its bytes and its mtime (ns)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(lab.config_dir.iterdir()) if p.is_file()}


def reloads(lab: Lab) -> list[str]:
    """Modules Asterisk says it reloaded ("Reloading module 'res_pjsip.so'", loader.c, in
    messages.log through verbose(3))."""
    return RELOADING.findall((lab.log_dir / "messages.log").read_text(errors="replace"))


@pytest.fixture
def addresses(tmp_path: Path) -> Path:
    path = tmp_path / "addresses.txt"
    path.write_text("203.0.113.12\n203.0.113.13\n# retired soon\n198.51.100.0/28\n")
    return path


def commands(addresses: Path) -> dict[str, tuple[str, ...]]:
    """One would-change invocation of every config change command."""
    return {
        "identify add": ("identify", "add", "carrier", "203.0.113.12"),
        "identify remove": ("identify", "remove", "carrier", "203.0.113.10"),
        "identify add --from-file": ("identify", "add", "--trunk-by-contact", "203.0.113.10",
                                     "--from-file", str(addresses)),
        "trunk add": ("trunk", "add", "carrier2", "--provider-ip", "203.0.113.14", "--did",
                      "15551230002", "--route-to", "inbound-provider"),
        "config set": ("config", "set", "endpoint", "carrier", "from_user", "15551230000"),
        "config set --trunk-by-contact": ("config", "set", "identify", "--trunk-by-contact",
                                          "203.0.113.10", "srv_lookups", "no"),
        "did route": ("did", "route", "carrier", "--pilot", "15550000000"),
        "logs enable": ("logs", "enable"),
    }


def _without_security_log(lab: Lab) -> None:
    """logger.conf without its security channel (so `logs enable` has work to do)."""
    path = lab.config_dir / "logger.conf"
    path.write_bytes(path.read_bytes().replace(b"security.log => security\n", b""))


@pytest.mark.parametrize("name", list(commands(Path("x"))))
@pytest.mark.parametrize("readonly", [False, True])
def test_dry_run_changes_nothing(lab_config: Lab, tmp_path: Path, addresses: Path,
                                 name: str, readonly: bool) -> None:
    """--dry-run (also under --readonly): exit 0, changed true with the diff; no byte, no
    mtime, no backup, no audit line, no AMI login, no reload."""
    lab = lab_config
    _without_security_log(lab)
    args = commands(addresses)[name]
    before, logins, reloaded = file_states(lab), ami_logins(lab), reloads(lab)
    state = tmp_path / "state"
    out = run_cli(lab, *args, "--dry-run", "--json", state=state,
                  global_args=("--readonly",) if readonly else ())
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert (data["ok"], data["changed"], data["dry_run"], data["backup"],
            data["rolled_back"], data["verified"]) == (True, True, True, None, False, False)
    assert data["diff"].startswith("--- "), data["diff"]
    assert [s["step"] for s in data["steps"]] == ["plan"]
    assert data["steps"][0]["detail"].startswith("dry run: would change ")
    assert file_states(lab) == before
    assert not state.exists()
    assert ami_logins(lab) == logins
    assert reloads(lab) == reloaded
    # The text form says the same.
    text = run_cli(lab, *args, "--dry-run", state=state)
    assert text.returncode == 0, text.stderr
    assert text.stdout.endswith("(dry run: would change; nothing changed)\n")
    assert file_states(lab) == before


def test_dry_run_when_it_already_holds(lab_config: Lab, tmp_path: Path) -> None:
    """Check mode on a PBX that already has it: exit 0, changed false, no diff."""
    lab = lab_config
    already = [("identify", "add", "carrier", "203.0.113.10"),
               ("identify", "remove", "carrier", "192.0.2.77"),
               ("config", "set", "endpoint", "carrier", "context", "inbound-provider"),
               ("config", "set", "endpoint", "carrier", "direct_media", "false"),
               ("logs", "enable")]
    before, logins = file_states(lab), ami_logins(lab)
    for args in already:
        code, data = change(lab, *args, "--dry-run", state=tmp_path / "state")
        assert (code, data["ok"], data["changed"], data["dry_run"], data["diff"]) == (
            0, True, False, True, ""), (args, data)
    assert file_states(lab) == before
    assert ami_logins(lab) == logins
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("action", ["add", "remove"])
def test_from_file_is_one_reload_as_asterisk_counts_it(lab_config: Lab, tmp_path: Path,
                                                       action: str) -> None:
    """Asterisk's own log: a list of five is one 'Reloading module', five single adds are
    five (so the count can fail)."""
    lab = lab_config
    listed = ["203.0.113.21", "203.0.113.22", "203.0.113.23", "198.51.100.0/28",
              "2001:db8::5"]
    path = tmp_path / "list.txt"
    path.write_text("\n".join(listed) + "\n")
    state = tmp_path / "state"
    if action == "remove":
        for address in listed:
            assert change(lab, "identify", "add", "carrier", address, "--yes",
                          state=state)[0] == 0
    start = len(reloads(lab))
    code, data = change(lab, "identify", action, "carrier", "--from-file", str(path), "--yes",
                        state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert reloads(lab)[start:] == ["res_pjsip.so"]
    sign = "+" if action == "add" else "-"
    assert data["diff"].count(f"\n{sign}match = ") == len(listed), data["diff"]
    assert [s["step"] for s in data["steps"]].count("verify") == 1
    assert len(list((state / "backups").iterdir())) == (1 if action == "add" else 6)
    if action == "add":
        # The same five one by one: five reloads (the witness counts).
        for address in listed:
            change(lab, "identify", "remove", "carrier", address, "--yes", state=state)
        start = len(reloads(lab))
        for address in listed:
            assert change(lab, "identify", "add", "carrier", address, "--yes",
                          state=state)[0] == 0
        assert reloads(lab)[start:] == ["res_pjsip.so"] * len(listed)


def test_from_file_bad_line_changes_nothing(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    before, logins = file_states(lab), ami_logins(lab)
    for lines, line_no, shown in [
            (["203.0.113.21", "203.0.113.22", "203.0.113.300"], 3, "203.0.113.300"),
            (["203.0.113.21", "0.0.0.0/0"], 2, "0.0.0.0/0"),
            (["203.0.113.21", "# fine", "203.0.113.22 203.0.113.23"], 3,
             "203.0.113.22 203.0.113.23")]:
        path = tmp_path / "list.txt"
        path.write_text("\n".join(lines) + "\n")
        for action in ("add", "remove"):
            code, data = change(lab, "identify", action, "carrier", "--from-file", str(path),
                                "--yes", state=tmp_path / "state")
            assert (code, data["ok"], data["changed"]) == (3, False, False), data
            assert data["error"]["what"].startswith(f"{path}:{line_no}: {shown!r}"), data
    # A line with CR/LF inside (an AMI header smuggled into the list) is a bad line too.
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"203.0.113.21\n203.0.113.22\rAction: Command\n")
    code, data = change(lab, "identify", "add", "carrier", "--from-file", str(path), "--yes",
                        state=tmp_path / "state")
    assert (code, data["ok"]) == (3, False), data
    assert f"{path}:2:" in data["error"]["what"]
    assert file_states(lab) == before
    assert ami_logins(lab) == logins
    assert not (tmp_path / "state").exists()


RENAMED = b"""
[acme-out]
type = aor
contact = sip:203.0.113.10:5060
qualify_frequency = 10

[acme-ep]
type = endpoint
transport = transport-udp
context = inbound-provider
disallow = all
allow = ulaw
aors = acme-out
identify_by = ip

[acme-id]
type = identify
endpoint = acme-ep
match = 203.0.113.10
"""


@pytest.fixture
def renamed_lab(lab_config: Lab) -> Lab:
    """This PBX calls the carrier's trunk acme-ep (aor acme-out, identify acme-id)."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    text = path.read_bytes()
    path.write_bytes(text[:text.index(b"; --- carrier trunk")] + RENAMED)
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
        names = [first(m, "objectname") for m in ami.action({"Action": "PJSIPShowEndpoints"})]
    assert "acme-ep" in names, names
    assert "carrier" not in names, names
    return lab


def test_trunk_by_contact_where_sections_have_other_names(renamed_lab: Lab,
                                                          tmp_path: Path) -> None:
    lab = renamed_lab
    state = tmp_path / "state"
    code, data = change(lab, "identify", "add", "--trunk-by-contact", "203.0.113.10",
                        "203.0.113.12", "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert data["change"] == "add 203.0.113.12 to the identify of trunk acme-ep"
    assert "[acme-id]" in (lab.config_dir / "pjsip.conf").read_text()
    with lab.ami() as ami:
        detail = ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "acme-ep"})
    assert any("203.0.113.12" in first(m, "match") for m in detail
               if first(m, "event") == "IdentifyDetail")
    code, data = change(lab, "identify", "add", "--trunk-by-contact", "203.0.113.10",
                        "203.0.113.12", "--yes", state=state)
    assert (code, data["changed"]) == (0, False), data
    # The identify object by the same host, whatever it is called here.
    code, data = change(lab, "config", "set", "aor", "--trunk-by-contact", "203.0.113.10",
                        "qualify_frequency", "30", "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert data["change"] == "set qualify_frequency = 30 on aor acme-out"


def test_trunk_by_contact_ambiguous_or_unknown(renamed_lab: Lab, tmp_path: Path) -> None:
    lab = renamed_lab
    path = lab.config_dir / "pjsip.conf"
    path.write_bytes(path.read_bytes() + b"""
[backup-out]
type = aor
contact = sip:203.0.113.10:5080

[backup-ep]
type = endpoint
context = inbound-provider
aors = backup-out
""")
    before = file_states(lab)
    code, data = change(lab, "identify", "add", "--trunk-by-contact", "203.0.113.10",
                        "203.0.113.12", "--yes", state=tmp_path / "state")
    assert (code, data["ok"]) == (3, False), data
    assert data["error"]["what"] == "203.0.113.10 names 2 trunks, not one"
    assert "acme-ep (contact sip:203.0.113.10:5060" in data["error"]["evidence"]
    assert "backup-ep (contact sip:203.0.113.10:5080" in data["error"]["evidence"]
    for host, message in [("192.0.2.99", "no trunk has 192.0.2.99 as contact or identify "
                                         "match"),
                          ("203.0.113.10:5060", "give the host without a port"),
                          ("203.0.113.10\r\nAction: Command", "is not a host")]:
        code, data = change(lab, "identify", "add", "--trunk-by-contact", host,
                            "203.0.113.12", "--yes", state=tmp_path / "state")
        assert (code, data["ok"]) == (3, False), data
        assert message in data["error"]["what"], data
    assert file_states(lab) == before
    assert not (tmp_path / "state").exists()


def test_did_route_and_logs_enable_json(lab_config: Lab, tmp_path: Path) -> None:
    """The two other config change commands: applied, unchanged, refused."""
    lab = lab_config
    state = tmp_path / "state"
    route = ("did", "route", "carrier", "--pilot", "15550000000", "--yes")
    code, data = change(lab, *route, state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    code, data = change(lab, *route, state=state)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, True)
    assert data["change"] == ("pilot 15550000000 of trunk carrier already routes on the DID "
                              "in P-Called-Party-ID")
    before = file_states(lab)
    code, data = change(lab, *route, "--header", "To", state=state)
    assert (code, data["ok"]) == (3, False), data
    assert "already has extension 15550000000" in data["error"]["what"]
    code, data = change(lab, "did", "route", "carrier", "--pilot", "1555\r\n0", "--yes",
                        state=state)
    assert (code, data["ok"]) == (3, False), data
    assert "is not a number" in data["error"]["what"]
    assert file_states(lab) == before

    code, data = change(lab, "logs", "enable", "--yes", state=state)
    assert (code, data["ok"], data["changed"], data["verified"]) == (0, True, False, True)
    _without_security_log(lab)
    code, data = change(lab, "logs", "enable", "--yes", state=state)
    assert (code, data["changed"], data["verified"]) == (0, True, True), data
    assert "+security.log => security" in data["diff"]


def test_logger_on_off_json(lab: Lab) -> None:
    code_data = []
    for args in (("logger", "on", "--trunk", "carrier", "--for", "30"), ("logger", "off"),
                 ("logger", "off")):
        out = run_cli(lab, *args, "--json")
        data = json.loads(out.stdout)
        assert set(data) == KEYS
        code_data.append((out.returncode, data["ok"], data["changed"]))
    assert code_data == [(0, True, True), (0, True, True), (0, True, False)]
    out = run_cli(lab, "logger", "on", "--trunk", "nosuch", "--json")
    data = json.loads(out.stdout)
    assert (out.returncode, data["ok"]) == (3, False)
    assert "nosuch" in data["error"]["what"]
