"""How bad each IP-trunk checklist miss is: NAT toward the provider, what the trunk's context
can dial, and hostname matches (issue 15: a healthy FreePBX box checks clean)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trunkconsole.findings import Finding, Severity
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

TRUNK = """\
[udp]
type=transport
protocol=udp
bind=0.0.0.0:5060
{transport}
[carrier]
type=aor
contact=sip:{contact}:5060

[carrier]
type=endpoint
transport=udp
context={context}
disallow=all
allow=ulaw
aors=carrier
direct_media=no
{endpoint}
[carrier]
type=identify
endpoint=carrier
match={match}

[1001]
type=auth
username=1001
password=x

[1001]
type=endpoint
auth=1001
context=from-internal
allow=ulaw
"""

FROM_PSTN = """\
[from-pstn]
include => ext-did
include => ext-did-catchall
[ext-did]
exten => 15551230001,1,Set(__FROM_DID=${EXTEN})
exten => 15551230001,n,Goto(from-did-direct,1001,1)
[from-did-direct]
include => ext-local
[ext-local]
exten => 1001,1,Dial(PJSIP/1001,20)
[ext-did-catchall]
exten => _.,1,Hangup()
"""


def findings(tmp_path: Path, *, match: str = "203.0.113.10", contact: str = "203.0.113.10",
             context: str = "from-pstn", endpoint: str = "", transport: str = "",
             extensions: str | None = FROM_PSTN) -> dict[str, Finding]:
    (tmp_path / "pjsip.conf").write_text(TRUNK.format(
        match=match, contact=contact, context=context, endpoint=endpoint,
        transport=transport))
    if extensions is not None:
        (tmp_path / "extensions.conf").write_text(extensions)
    return {f.code: f for f in config_findings(load_asterisk(tmp_path))
            if f.subject == "carrier"}


NAT_ONLY = ("trunk-rtp-symmetric", "trunk-rewrite-contact", "trunk-force-rport")


def test_nat_only_options_are_notes_toward_a_public_provider(tmp_path: Path) -> None:
    found = findings(tmp_path, endpoint="force_rport=no")
    for code in NAT_ONLY:
        assert found[code].severity == Severity.INFO, code
        assert "no NAT toward the provider" in found[code].title
        assert found[code].fix.startswith("set ")
    assert "trunk-direct-media" not in found


def test_asterisk_behind_nat_alone_does_not_make_them_warnings(tmp_path: Path) -> None:
    # The PBX's own NAT is the transport's job (external_*, local_net); the three endpoint
    # options act on the remote party's NAT only (Asterisk wiki, "Configuring res_pjsip to
    # work through NAT").
    found = findings(tmp_path, endpoint="force_rport=no", transport=(
        "external_media_address=198.51.100.1\nexternal_signaling_address=198.51.100.1\n"
        "local_net=192.168.0.0/16"))
    assert {found[code].severity for code in NAT_ONLY} == {Severity.INFO}


@pytest.mark.parametrize(("match", "contact"), [
    ("192.168.5.10", "203.0.113.10"),   # the provider's match is private
    ("203.0.113.10", "10.1.2.3"),       # its contact is private
    ("100.64.0.0/24", "203.0.113.10"),  # carrier-grade NAT
    ("[fd00::5]", "203.0.113.10"),      # IPv6 ULA
])
def test_nat_only_options_warn_when_the_provider_is_private(tmp_path: Path, match: str,
                                                            contact: str) -> None:
    found = findings(tmp_path, match=match, contact=contact, endpoint="force_rport=no")
    for code in NAT_ONLY:
        assert found[code].severity == Severity.WARNING, code
        assert any("private address" in e.text for e in found[code].evidence)


def test_direct_media_yes_stays_a_warning(tmp_path: Path) -> None:
    found = findings(tmp_path, endpoint="direct_media=yes")
    assert found["trunk-direct-media"].severity == Severity.WARNING


def test_identify_by_username_into_inbound_only_context_is_a_note(tmp_path: Path) -> None:
    finding = findings(tmp_path)["trunk-identify-by"]
    assert finding.severity == Severity.INFO
    assert "(Asterisk's default)" in finding.title
    assert "From user is 'carrier'" in finding.title
    assert "spoofed inbound calls" in finding.title
    assert "1 jumps to fixed destinations not followed" in finding.title
    assert finding.details["reach"] == "inbound"
    assert finding.fix == "set identify_by=ip"


OUTBOUND = {
    # FreePBX-style: an include chain to an outbound route that dials the caller's number
    "include-route": ("[ctx]\ninclude => outbound\n[outbound]\ninclude => outrt-x\n"
                      "[outrt-x]\nexten => _9.,1,Dial(PJSIP/${EXTEN:1}@carrier,300)\n",
                      Severity.CRITICAL),
    # FreePBX's own outbound route context, whatever its lines
    "freepbx-route": ("[ctx]\ninclude => outbound-allroutes\n[outbound-allroutes]\n"
                      "include => outrt-1\n[outrt-1]\n"
                      "exten => _1NXXNXXXXXX,1,Macro(dialout-trunk,1,${EXTEN},,off)\n",
                      Severity.CRITICAL),
    # a jump that carries the dialled number on into a context that dials out
    "goto-exten": ("[ctx]\nexten => _X.,1,Goto(from-internal,${EXTEN},1)\n"
                   "[from-internal]\nexten => _0X.,1,Dial(SIP/uplink/${EXTEN})\n",
                   Severity.CRITICAL),
    "local-channel": ("[ctx]\nexten => _X.,1,Dial(Local/${EXTEN}@out)\n"
                      "[out]\nexten => _X.,1,Dial(PJSIP/carrier/sip:${EXTEN}@203.0.113.10)\n",
                      Severity.CRITICAL),
    "disa": ("[ctx]\nexten => 100,1,DISA(no-password,out)\n", Severity.CRITICAL),
    # a call out to a number the configuration holds: the caller cannot choose it
    "fixed-number": ("[ctx]\nexten => _X.,1,Dial(PJSIP/15551239999@carrier)\n",
                     Severity.WARNING),
    # cannot be followed: a variable context carrying the number, a switch
    "dynamic-goto": ("[ctx]\nexten => _X.,1,Goto(${TARGET},${EXTEN},1)\n", Severity.WARNING),
    "switch": ("[ctx]\nswitch => Realtime/ctx@extensions\n", Severity.WARNING),
    "dynamic-dial": ("[ctx]\nexten => _X.,1,Dial(${TECH}/${EXTEN})\n", Severity.WARNING),
    "dynamic-local": ("[ctx]\nexten => _X.,1,Dial(Local/${EXTEN}@${CTX})\n", Severity.WARNING),
    # a subroutine handed the caller's number as an argument
    "gosub-args": ("[ctx]\nexten => _X.,1,Gosub(sub-out,s,1(${EXTEN}))\n"
                   "[sub-out]\nexten => s,1,Dial(PJSIP/${ARG1}@carrier)\n", Severity.CRITICAL),
    # stays inside: a phone, a Dial through an endpoint that authenticates (a phone),
    # a fixed-destination jump into a context that could dial out
    "phone": ("[ctx]\nexten => _X.,1,Dial(PJSIP/1001)\n", Severity.INFO),
    "through-phone": ("[ctx]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@1001)\n", Severity.INFO),
    "fixed-jump": ("[ctx]\nexten => 5,1,Goto(from-internal,s,1)\n"
                   "[from-internal]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n",
                   Severity.INFO),
}


@pytest.mark.parametrize("case", sorted(OUTBOUND))
def test_identify_by_severity_follows_what_the_context_can_dial(tmp_path: Path,
                                                                case: str) -> None:
    extensions, severity = OUTBOUND[case]
    finding = findings(tmp_path, context="ctx", extensions=extensions)["trunk-identify-by"]
    assert finding.severity == severity, finding.title
    if severity == Severity.CRITICAL:
        assert "toll fraud" in finding.title
        assert len(finding.evidence) == 2 or case == "freepbx-route"


def test_identify_by_without_a_dialplan_or_context_stays_a_warning(tmp_path: Path) -> None:
    assert findings(tmp_path, extensions=None)["trunk-identify-by"].severity == \
        Severity.WARNING
    other = tmp_path / "other"
    other.mkdir()
    finding = findings(other, context="nowhere")["trunk-identify-by"]
    assert finding.severity == Severity.WARNING
    assert "not in extensions.conf" in finding.title


def test_identify_by_ip_raises_nothing(tmp_path: Path) -> None:
    assert "trunk-identify-by" not in findings(tmp_path, context="ctx",
                                               endpoint="identify_by=ip",
                                               extensions=OUTBOUND["include-route"][0])


def test_hostname_match_is_a_note_offline(tmp_path: Path) -> None:
    finding = findings(tmp_path, match="sip.carrier.example")["match-hostname"]
    assert finding.severity == Severity.INFO
    assert "resolves it when the identify loads" in finding.title
    assert "a restart drops the whole identify" in finding.title
    assert finding.fix == "match the provider's IP addresses or networks instead"
    assert finding.details == {"host": "sip.carrier.example", "port": None}


def default_freepbx_trunk(tmp_path: Path) -> Path:
    """The FreePBX 17 sample with telco-reg's SIP Server a hostname: a trunk exactly as
    FreePBX writes a new one (Match (Permit) empty, so the identify matches the name)."""
    target = tmp_path / "freepbx"
    shutil.copytree(sample_configs_dir() / "freepbx", target)
    for name in ("pjsip.aor.conf", "pjsip.identify.conf", "pjsip.registration.conf",
                 "pjsip.endpoint.conf"):
        path = target / name
        path.write_text(path.read_text().replace("192.0.2.50", "sip.provider.example"))
    return target


def test_pure_default_freepbx_trunk_checks_clean_and_names_the_gui(tmp_path: Path) -> None:
    config = default_freepbx_trunk(tmp_path)
    endpoint = (config / "pjsip.endpoint.conf").read_text().split("[telco-reg]")[1]
    endpoint = endpoint.split("\n\n")[0]
    assert "identify_by" not in endpoint
    assert "rewrite_contact" not in endpoint
    assert "context=from-pstn" in endpoint
    assert "outbound_auth=telco-reg" in endpoint
    found = {(f.code, f.subject): f for f in config_findings(load_asterisk(config))}
    assert all(f.severity == Severity.INFO for f in found.values()), \
        [f.title for f in found.values() if f.severity != Severity.INFO]
    hostname = found[("match-hostname", "telco-reg")]
    assert "FreePBX writes the SIP Server here because Match (Permit) is empty" in \
        hostname.title
    assert "Connectivity → Trunks → telco-reg → pjsip Settings → Advanced → Match (Permit)" \
        in hostname.fix
    rewrite = found[("trunk-rewrite-contact", "telco-reg")]
    assert rewrite.fix == ("set rewrite_contact=yes (FreePBX: Connectivity → Trunks → telco-reg "
                           "→ pjsip Settings → Advanced → Rewrite Contact → Yes)")
    identify_by = found[("trunk-identify-by", "telco-reg")]
    assert "Match Inbound Authentication → Ip" in identify_by.fix
    assert "context from-pstn only routes calls inside the PBX" in identify_by.title
    result = subprocess.run([sys.executable, "-m", "trunkconsole", "check", "--no-live",
                             "--no-network", "--config-dir", str(config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_freepbx_trunk_into_from_internal_is_toll_fraud(tmp_path: Path) -> None:
    # The same default trunk with its context set to from-internal (a common mistake):
    # from-internal includes outbound-allroutes.
    config = default_freepbx_trunk(tmp_path)
    path = config / "pjsip.endpoint.conf"
    text = path.read_text()
    head, _, rest = text.partition("[telco-reg]")
    path.write_text(head + "[telco-reg]" + rest.replace("context=from-pstn",
                                                        "context=from-internal", 1))
    found = {(f.code, f.subject): f for f in config_findings(load_asterisk(config))}
    finding = found[("trunk-identify-by", "telco-reg")]
    assert finding.severity == Severity.CRITICAL
    assert "include => outbound-allroutes" in finding.title
    assert "toll fraud" in finding.title
