"""A FreePBX 17 box in the lab: Asterisk 22 loads sample-configs/freepbx (the layout FreePBX's
generators write), and is the judge of what trunkconsole says and changes there."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab
from trunkconsole.logs.setup import read_setup
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

from .helpers import run_cli

FREEPBX = sample_configs_dir() / "freepbx"


@pytest.fixture
def freepbx_lab(lab: Lab) -> Iterator[Lab]:
    """The lab PBX restarted on the FreePBX layout, and restarted on its own after.

    A restart, not a reload: FreePBX's transport (allow_reload=no) binds the port the lab's
    own transport holds, and a transport is only ever bound at start.
    """
    originals = {p: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    for source in FREEPBX.iterdir():
        shutil.copyfile(source, lab.config_dir / source.name)  # keeps pjsip.conf 0640
    lab.restart_asterisk()
    try:
        yield lab
    finally:
        for path in lab.config_dir.glob("*.conf"):
            if path not in originals:
                path.unlink()
        for path, content in originals.items():
            path.write_bytes(content)
        lab.restart_asterisk()


def endpoint_detail(lab: Lab, name: str) -> dict[str, str]:
    with lab.ami() as ami:
        events = ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": name})
    detail = next((e for e in events if first(e, "event") == "EndpointDetail"), None)
    assert detail is not None, f"Asterisk has no endpoint {name}"
    found = {key: first(detail, key) for key in ("context", "aors", "transport", "fromuser")}
    found["match"] = ",".join(first(e, "match") for e in events
                              if first(e, "event") == "IdentifyDetail")
    return found


def test_freepbx_layout_agrees_with_asterisk(freepbx_lab: Lab) -> None:
    lab = freepbx_lab
    system = load_asterisk(lab.config_dir)
    ours = {o.id for o in system.pjsip.of_type("endpoint") if o.loaded}
    with lab.ami() as ami:
        listing = ami.action({"Action": "PJSIPShowEndpoints"})
        registrations = ami.action({"Action": "PJSIPShowRegistrationsOutbound"})
        dialplan = "\n".join(ami.command("dialplan show from-pstn"))
    theirs = {first(m, "objectname") for m in listing if first(m, "event") == "EndpointList"}
    assert theirs == ours == {"1001", "1002", "1003", "telco-ip", "telco-b", "telco-reg"}
    for name in ("telco-ip", "telco-b", "telco-reg", "1001"):
        endpoint = system.pjsip.get("endpoint", name)
        assert endpoint is not None
        live = endpoint_detail(lab, name)
        assert live["context"] == endpoint.value("context")
        assert live["aors"] == endpoint.value("aors")
        assert live["transport"] == endpoint.value("transport")
        assert live["fromuser"] == endpoint.value("from_user")
        matches = [m.network_text() for i in system.pjsip.identifies_for(name)
                   for m, _opt in system.pjsip.matches(i)]
        assert len(live["match"].split(",")) - (live["match"] == "") == len(matches), name
    assert {first(m, "objectname") for m in registrations
            if first(m, "event") == "OutboundRegistrationDetail"} == \
        {r.id for r in system.pjsip.of_type("registration")}
    assert "ext-did" in dialplan


def test_freepbx_files_raise_no_warning_against_live_asterisk(freepbx_lab: Lab) -> None:
    out = run_cli(freepbx_lab, "check", "--no-network")
    assert "INFO     freepbx-managed" in out.stdout, out.stdout + out.stderr
    problems = [line for line in out.stdout.splitlines()
                if line.startswith(("WARNING", "CRITICAL"))]
    # The only real problems: the lab has no registrar at 192.0.2.50 (telco-reg) and no
    # provider at 198.51.100.20 (telco-b), so registration and qualify fail when Asterisk
    # gets to them (Unregistered, Rejected or Unreachable, depending on when we ask).
    expected = ("registration-failing: outbound registration telco-reg",
                "trunk-unreachable: trunk telco-b", "trunk-unreachable: trunk telco-reg")
    assert all(any(what in line for what in expected) for line in problems), out.stdout
    assert not [line for line in out.stdout.splitlines() if "freepbx-hand-edited" in line]


def test_a_custom_file_read_before_freepbx_changes_nothing(freepbx_lab: Lab) -> None:
    """Why the console never names pjsip.endpoint_custom.conf: Asterisk reads it first."""
    lab = freepbx_lab
    (lab.config_dir / "pjsip.endpoint_custom.conf").write_text(
        "[telco-ip](+type=endpoint)\ncontext=from-custom\n")
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    assert endpoint_detail(lab, "telco-ip")["context"] == "from-pstn"
    system = load_asterisk(lab.config_dir)
    endpoint = system.pjsip.get("endpoint", "telco-ip")
    assert endpoint is not None
    assert endpoint.value("context") == "from-pstn"  # our model agrees with Asterisk
    assert any(i.code == "append-missing" for i in system.loaded["pjsip.conf"].issues)
    (lab.config_dir / "pjsip.endpoint_custom.conf").write_text("")


def test_changes_on_freepbx_take_effect_and_generated_files_stay(freepbx_lab: Lab,
                                                                 tmp_path: Path) -> None:
    lab = freepbx_lab
    generated = {name: (lab.config_dir / name).read_bytes() for name in
                 ("pjsip.endpoint.conf", "pjsip.identify.conf", "pjsip.conf",
                  "extensions_additional.conf")}
    out = run_cli(lab, "config", "set", "endpoint", "telco-ip", "context", "from-did-direct",
                  "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "pjsip.endpoint_custom_post.conf" in out.stdout
    assert "GUI will not show it" in out.stdout
    assert endpoint_detail(lab, "telco-ip")["context"] == "from-did-direct"

    out = run_cli(lab, "identify", "add", "telco-ip", "203.0.113.12", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "203.0.113.12" in endpoint_detail(lab, "telco-ip")["match"]

    out = run_cli(lab, "identify", "remove", "telco-b", "198.51.100.21", "--yes",
                  state=tmp_path)
    assert out.returncode != 0
    assert "Connectivity → Trunks → telco-b" in out.stdout + out.stderr
    assert "198.51.100.21" in endpoint_detail(lab, "telco-b")["match"]

    out = run_cli(lab, "trunk", "add", "newtel", "--provider-ip", "198.51.100.40",
                  "--did", "15557770001", "--route-to", "from-pstn", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert endpoint_detail(lab, "newtel")["match"].startswith("198.51.100.40")
    assert "pjsip_custom_post.conf" in (lab.config_dir / "pjsip_custom_post.conf").name
    assert b"[newtel]" in (lab.config_dir / "pjsip_custom_post.conf").read_bytes()
    assert {name: (lab.config_dir / name).read_bytes() for name in generated} == generated


def test_unanswered_registration_is_not_called_a_credentials_problem(freepbx_lab: Lab) -> None:
    """telco-reg's registrar (192.0.2.50) is not there: Asterisk says `Rejected` over AMI,
    as it would for a 401/403, and only its WARNING line tells the two apart."""
    lab = freepbx_lab
    full = next(c.path for c in read_setup(lab.config_dir).channels if c.name == "full")
    attempt = "on registration attempt to 'sip:acct77@192.0.2.50:5060'"
    deadline = time.monotonic() + 60  # one REGISTER transaction times out after 32 s
    while attempt not in (full.read_text(errors="replace") if full.exists() else ""):
        assert time.monotonic() < deadline, f"no registration attempt logged in {full}"
        time.sleep(1)
    out = run_cli(lab, "check", "--json", "--no-network")
    [finding] = [f for f in json.loads(out.stdout)["findings"]
                 if f["code"] == "registration-failing"]
    assert "no answer from the registrar" in finding["fix"], finding
    assert "refused the credentials" not in finding["fix"]
    assert any(attempt in e["text"] for e in finding["evidence"]), finding["evidence"]
