"""FreePBX boxes in the lab: Asterisk 22 loads each FreePBX layout of tests/freepbx_layouts.py
(FreePBX 17, and FreePBX 16 with custom files in use) and is the judge of what trunkconsole
says and changes there."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.freepbx_layouts import LAYOUTS, Layout
from trunkconsole.lab.addresses import SPARE_ADDRESSES
from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.logs.setup import read_setup
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.addresses import parse_ami_matches
from trunkconsole.pjsip.matches import resolve_host
from trunkconsole.pjsip.system import load_asterisk

from .helpers import run_cli

# What is really wrong in the lab on each layout: no registrar at the registration trunk's
# address, no peer at some trunks' contacts (Unregistered, Rejected or Unreachable, depending
# on when we ask).
REAL_PROBLEMS = {
    "freepbx": ("registration-failing: outbound registration telco-reg",
                "trunk-unreachable: trunk telco-b", "trunk-unreachable: trunk telco-reg"),
    "freepbx16": ("registration-failing: outbound registration sipgate-reg",
                  "trunk-unreachable: trunk sipgate-reg", "trunk-unreachable: trunk legacy-pbx"),
}


@pytest.fixture(params=LAYOUTS, ids=lambda layout: layout.name)
def layout(request: pytest.FixtureRequest) -> Layout:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def freepbx_lab(lab: Lab, layout: Layout) -> Iterator[Lab]:
    """The lab PBX restarted on a FreePBX layout, and restarted on its own after.

    A restart, not a reload: FreePBX's transport (allow_reload=no) binds the port the lab's
    own transport holds, and a transport is only ever bound at start. The lab's manager.conf
    stays (its AMI user is how the tests get in), ending as FreePBX's does: with the
    #includes of manager_additional.conf and manager_custom.conf.
    """
    originals = {p: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    for source in layout.path.iterdir():
        if source.name == "manager.conf":
            manager = lab.config_dir / "manager.conf"
            manager.write_bytes(manager.read_bytes() + b"\n#include manager_additional.conf"
                                b"\n#include manager_custom.conf\n")
            continue
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
    found["qualifyfrequency"] = ",".join(first(e, "qualifyfrequency") for e in events
                                         if first(e, "event") == "AorDetail")
    return found


def reload_pjsip(lab: Lab) -> None:
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})


def test_freepbx_layout_agrees_with_asterisk(freepbx_lab: Lab, layout: Layout) -> None:
    lab = freepbx_lab
    system = load_asterisk(lab.config_dir)
    ours = {o.id for o in system.pjsip.of_type("endpoint") if o.loaded}
    with lab.ami() as ami:
        listing = ami.action({"Action": "PJSIPShowEndpoints"})
        registrations = ami.action({"Action": "PJSIPShowRegistrationsOutbound"})
        dialplan = "\n".join(ami.command("dialplan show from-pstn"))
        rtp = "\n".join(ami.command("rtp show settings"))
        users = "\n".join(ami.command("manager show users"))
    theirs = {first(m, "objectname") for m in listing if first(m, "event") == "EndpointList"}
    assert theirs == ours == layout.endpoints
    extension = sorted(n for n in layout.endpoints if n.isdigit())[0]
    for name in {layout.ip_trunk, layout.second_ip_trunk, layout.reg_trunk, extension}:
        endpoint = system.pjsip.get("endpoint", name)
        assert endpoint is not None
        live = endpoint_detail(lab, name)
        # context: the last line wins, in a _custom_post file on freepbx16 (checked here)
        assert live["context"] == endpoint.value("context"), name
        assert live["aors"] == endpoint.value("aors")
        assert live["transport"] == endpoint.value("transport")
        assert live["fromuser"] == endpoint.value("from_user")
        matches = [m.network_text() for i in system.pjsip.identifies_for(name)
                   for m, _opt in system.pjsip.matches(i)]
        assert len(live["match"].split(",")) - (live["match"] == "") == len(matches), name
    if layout.custom_context:
        assert endpoint_detail(lab, layout.ip_trunk)["context"] == layout.custom_context
    assert {first(m, "objectname") for m in registrations
            if first(m, "event") == "OutboundRegistrationDetail"} == \
        {r.id for r in system.pjsip.of_type("registration")}
    assert "ext-did" in dialplan
    # rtp.conf: rtp_additional.conf, then rtp_custom.conf (freepbx16 adds to [general] there)
    assert f"Port start:      {system.rtp.start}" in rtp
    assert f"Port end:        {system.rtp.end}" in rtp
    for user in system.manager.users:  # manager_additional.conf's users on freepbx16
        assert f"\n{user}\n" in users + "\n", user


def test_freepbx_files_raise_no_warning_against_live_asterisk(freepbx_lab: Lab,
                                                              layout: Layout) -> None:
    out = run_cli(freepbx_lab, "check", "--no-network")
    assert "INFO     freepbx-managed" in out.stdout, out.stdout + out.stderr
    problems = [line for line in out.stdout.splitlines()
                if line.startswith(("WARNING", "CRITICAL"))]
    expected = REAL_PROBLEMS[layout.name]
    assert all(any(what in line for what in expected) for line in problems), out.stdout
    assert not [line for line in out.stdout.splitlines() if "freepbx-hand-edited" in line]


def test_a_custom_file_read_before_freepbx_changes_nothing(freepbx_lab: Lab,
                                                           layout: Layout) -> None:
    """Why the console never names pjsip.endpoint_custom.conf: Asterisk reads it first."""
    lab = freepbx_lab
    trunk = layout.ip_trunk
    before = endpoint_detail(lab, trunk)["context"]
    (lab.config_dir / "pjsip.endpoint_custom.conf").write_text(
        f"[{trunk}](+type=endpoint)\ncontext=from-custom\n")
    reload_pjsip(lab)
    assert endpoint_detail(lab, trunk)["context"] == before
    system = load_asterisk(lab.config_dir)
    endpoint = system.pjsip.get("endpoint", trunk)
    assert endpoint is not None
    assert endpoint.value("context") == before  # our model agrees with Asterisk
    assert any(i.code == "append-missing" for i in system.loaded["pjsip.conf"].issues)
    (lab.config_dir / "pjsip.endpoint_custom.conf").write_text("")


def test_the_custom_files_named_win_in_asterisk(freepbx_lab: Lab, layout: Layout) -> None:
    """Each custom file the console names for a generated file, written as an operator
    would: Asterisk takes the value there over FreePBX's own."""
    lab = freepbx_lab
    system = load_asterisk(lab.config_dir)
    docs = {d.name: d for d in system.documents.by_path.values()}
    pjsip = system.loaded["pjsip.conf"]
    trunk = layout.ip_trunk
    named = {kind: freepbx.preferred_custom_file(pjsip, f"pjsip.{kind}.conf", docs)
             for kind in ("endpoint", "aor", "identify")}
    additions = {
        "endpoint": f"[{trunk}](+type=endpoint)\ncontext=from-named-file\n",
        "aor": f"[{trunk}](+type=aor)\nqualify_frequency=77\n",
        "identify": f"[{trunk}](+type=identify)\nmatch=203.0.113.19\n",
    }
    for kind, target in named.items():
        assert target is not None
        assert not freepbx.is_generated(docs[target])
        path = lab.config_dir / target
        path.write_text(path.read_text() + additions[kind])
    reload_pjsip(lab)
    live = endpoint_detail(lab, trunk)
    assert live["context"] == "from-named-file"
    assert live["qualifyfrequency"] == "77"
    assert "203.0.113.19" in live["match"]
    endpoint = load_asterisk(lab.config_dir).pjsip.get("endpoint", trunk)
    assert endpoint is not None
    assert endpoint.value("context") == "from-named-file"


def test_config_show_says_which_context_wins_as_asterisk_does(freepbx_lab: Lab,
                                                              layout: Layout) -> None:
    lab = freepbx_lab
    trunk = layout.ip_trunk
    if not layout.custom_context:  # FreePBX 17 sample: the operator adds the second line
        path = lab.config_dir / "pjsip.endpoint_custom_post.conf"
        path.write_text(f"[{trunk}](+type=endpoint)\ncontext=from-did-direct\n")
        reload_pjsip(lab)
    live = endpoint_detail(lab, trunk)["context"]
    out = run_cli(lab, "config", "show", "--type", "endpoint", "--json")
    [obj] = [o for o in json.loads(out.stdout)["objects"] if o["id"] == trunk]
    contexts = obj["options"]["context"]
    assert len(contexts) == 2
    generated, custom = contexts
    assert custom["value"] == live  # the line we call the winner is Asterisk's answer
    assert custom["custom"] is True
    assert generated["custom"] is False
    assert generated["overridden_by"] == f"{custom['file']}:{custom['line']}"
    assert custom["overrides"] == [f"{generated['file']}:{generated['line']}"]
    assert custom["file"] == "pjsip.endpoint_custom_post.conf"
    text = run_cli(lab, "config", "show", "--type", "endpoint").stdout
    winner = next(line for line in text.splitlines() if f"context = {live}" in line)
    assert "wins over pjsip.endpoint.conf" in winner
    assert freepbx.CUSTOM_MARK in winner


def test_changes_on_freepbx_take_effect_and_generated_files_stay(freepbx_lab: Lab,
                                                                 layout: Layout,
                                                                 tmp_path: Path) -> None:
    lab = freepbx_lab
    generated = {name: (lab.config_dir / name).read_bytes() for name in layout.generated}
    trunk = layout.ip_trunk
    out = run_cli(lab, "config", "set", "endpoint", trunk, "context", "from-did-direct",
                  "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "pjsip.endpoint_custom_post.conf" in out.stdout
    assert "GUI will not show it" in out.stdout
    assert endpoint_detail(lab, trunk)["context"] == "from-did-direct"

    out = run_cli(lab, "identify", "add", trunk, "203.0.113.18", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "GUI will not show it" in out.stdout
    assert "203.0.113.18" in endpoint_detail(lab, trunk)["match"]

    for name, match in ((layout.ip_trunk, layout.generated_match),
                        (layout.second_ip_trunk, layout.second_match)):
        out = run_cli(lab, "identify", "remove", name, match, "--yes", state=tmp_path)
        assert out.returncode != 0
        assert f"Connectivity → Trunks → {name} → pjsip Settings" in out.stdout + out.stderr
        assert "Match (Permit)" in out.stdout + out.stderr
        assert match in endpoint_detail(lab, name)["match"]

    out = run_cli(lab, "config", "set", "identify", trunk, "match", "203.0.113.17", "--yes",
                  state=tmp_path)
    assert out.returncode != 0
    assert "Match (Permit)" in out.stdout + out.stderr

    out = run_cli(lab, "trunk", "add", "newtel", "--provider-ip", "198.51.100.40",
                  "--did", "15557770001", "--route-to", "from-pstn", "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "GUI will not show it" in out.stdout
    assert endpoint_detail(lab, "newtel")["match"].startswith("198.51.100.40")
    assert b"[newtel]" in (lab.config_dir / "pjsip_custom_post.conf").read_bytes()
    assert {name: (lab.config_dir / name).read_bytes() for name in generated} == generated
    out = run_cli(lab, "check", "--no-network")
    assert "freepbx-hand-edited" not in out.stdout


def test_unanswered_registration_is_not_called_a_credentials_problem(freepbx_lab: Lab,
                                                                     layout: Layout) -> None:
    """The registrar is not there: Asterisk says `Rejected` over AMI, as it would for a
    401/403, and only its WARNING line tells the two apart."""
    lab = freepbx_lab
    full = next(c.path for c in read_setup(lab.config_dir).channels if c.name == "full")
    attempt = f"on registration attempt to '{layout.registrar}'"
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


def hostname_findings(lab: Lab, trunk: str) -> tuple[int, list[dict[str, Any]]]:
    out = run_cli(lab, "check", "--json", "--no-network")
    findings = json.loads(out.stdout)["findings"]
    [note] = [f for f in findings if f["code"] == "match-hostname" and f["subject"] == trunk]
    assert note["severity"] == "info"
    assert note["details"]["host"] == "localhost"
    return out.returncode, [f for f in findings if f["code"] in (
        "match-hostname-stale", "match-hostname-unresolved")]


def test_hostname_match_is_compared_with_what_asterisk_loaded(freepbx_lab: Lab,
                                                              layout: Layout) -> None:
    """A hostname added to the trunk's FreePBX identify: localhost, which `check` resolves
    from the host's /etc/hosts. The lab's root filesystem has no /etc/hosts and no
    reachable DNS, so Asterisk 22 fails the lookup ("Identify 'X' failed when adding
    resolution results of 'localhost'"). On the reload it keeps the identify it had
    ("Retaining existing configuration"): `check` must name 127.0.0.1 as not matched. At a
    restart it has no identify at all: `check` must say it is not loaded. Should the root
    filesystem ever resolve the name, both sides must agree and `check` stay quiet. (A name
    that moves cannot be made here: tests/unit/test_identify_dns.py fakes the resolver.)"""
    lab = freepbx_lab
    trunk = layout.ip_trunk
    before = endpoint_detail(lab, trunk)["match"]
    custom = lab.config_dir / "pjsip.identify_custom_post.conf"
    custom.write_text(custom.read_text() + f"\n[{trunk}](+type=identify)\nmatch=localhost\n")
    assert resolve_host("localhost") == {"127.0.0.1"}  # this host's /etc/hosts
    reload_pjsip(lab)
    loaded = {str(net) for net, _ in parse_ami_matches(endpoint_detail(lab, trunk)["match"])}
    status, live = hostname_findings(lab, trunk)
    if "127.0.0.1/32" in loaded:  # Asterisk resolved it too: they agree
        assert live == []
        return
    assert endpoint_detail(lab, trunk)["match"] == before  # retained as it was
    [stale] = live
    assert (stale["code"], stale["severity"], stale["subject"]) == \
        ("match-hostname-stale", "warning", trunk)
    assert "calls from 127.0.0.1 are not taken" in stale["title"]
    assert status >= 1  # 2 when the registration trunk's attempt shows Rejected just then
    lab.restart_asterisk()
    assert endpoint_detail(lab, trunk)["match"] == ""  # rejected whole, generated matches too
    status, live = hostname_findings(lab, trunk)
    [missing] = live
    assert (missing["code"], missing["severity"]) == ("match-hostname-unresolved", "warning")
    assert f"identify {trunk} is not loaded in Asterisk" in missing["title"]
    assert status >= 1  # 2 when the restart's first registration attempt was Rejected


def test_identify_by_username_lets_a_stranger_in_as_the_trunk(freepbx_lab: Lab,
                                                             layout: Layout) -> None:
    """What trunk-identify-by claims, shown by Asterisk: an INVITE from an address no
    identify matches, with the trunk's name as From user, is taken for a trunk whose
    identify_by includes username (FreePBX's default) and reaches its context's dialplan
    (no 401); a trunk with identify_by=ip answers the same INVITE with 401. And `check`
    names exactly the first kind, as a note, since from-pstn only routes inbound."""
    lab = freepbx_lab
    stranger = SPARE_ADDRESSES[-1]  # 203.0.113.20: no identify of either layout matches it
    system = load_asterisk(lab.config_dir)
    trunks = [(e.id, "username" in e.value("identify_by", "username,ip"))
              for e in system.pjsip.of_type("endpoint")
              if not e.items("auth") and system.pjsip.identifies_for(e.id)]
    out = run_cli(lab, "check", "--json", "--no-network")
    notes = {f["subject"]: f for f in json.loads(out.stdout)["findings"]
             if f["code"] == "trunk-identify-by"}
    assert {name for name, username in trunks if username} == set(notes)
    assert {f["severity"] for f in notes.values()} <= {"info"}
    did = "15551230001" if layout.name == "freepbx" else "4930123"
    for name, username in trunks:
        report = lab.call(CallSpec(did=did, source=stranger, from_user=name, duration=0.5))
        if username:  # let in: the dialplan ran (Dial to an unregistered phone: 503)
            assert report.answered or (report.rejected and "401" not in report.rejected), \
                (name, report.summary())
        else:
            assert report.rejected == {"401": 1}, (name, report.summary())
