"""Asterisk is the judge: the lab's Asterisk loads tricky configs, and what it reports
(PJSIPShowEndpoints, PJSIPShowEndpoint EndpointDetail/IdentifyDetail, `pjsip show
identifies`) must equal trunkconsole's resolved model of the same files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab.ami_probe import AmiProbe, Message, first
from trunkconsole.lab.lab import Lab
from trunkconsole.pjsip.matches import parse_match
from trunkconsole.pjsip.objects import PjsipObject
from trunkconsole.pjsip.resolve import PjsipConfig
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

TRICKY = sample_configs_dir() / "tricky"

WIZARD = """\
[wiz-tmpl](!)
type=wizard
transport=transport-udp
endpoint/context=from-trunk
endpoint/allow=alaw
endpoint/direct_media=no

[wtrunk](wiz-tmpl)
remote_hosts=198.51.100.60:5060,198.51.100.61
"""

# Grammar corner cases: a stray '--;', a line Asterisk skips as too long, an unknown
# option and a misspelt type. Ids are new, so a rejected object cannot be "retained".
EDGES = """\
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0:5060

[edge-ok]
type=endpoint
context=from-trunk

[edge-typo]
type=endpoint
direct_meda=no

[edge-type]
type=endpiont

[edge-long]
type=endpoint
context={long}
[edge-after-long]
type=endpoint

[edge-stray]
type=endpoint
context=a--;
[edge-hidden]
type=endpoint
;-- rebalanced
[edge-after-stray]
type=endpoint
"""


def log_tail(lab: Lab, lines: int = 40) -> str:
    """Asterisk's recent log lines, to explain a disagreement."""
    for name in ("messages.log", "asterisk.out"):
        path = lab.dir / "log" / name
        if path.is_file():
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def reload_pjsip(ami: AmiProbe) -> None:
    reply = ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    assert first(reply[0], "response") == "Success", reply


def asterisk_endpoints(ami: AmiProbe) -> set[str]:
    reply = ami.action({"Action": "PJSIPShowEndpoints"})
    return {first(m, "objectname") for m in reply if first(m, "event") == "EndpointList"}


def endpoint_detail(ami: AmiProbe, name: str) -> list[Message]:
    return ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": name})


def our_endpoints(pjsip: PjsipConfig) -> set[str]:
    if pjsip.type_failed("endpoint"):
        return set()
    return {obj.id for obj in pjsip.of_type("endpoint") if obj.loaded}


def ha_text(entry: str) -> str:
    """A match entry as ast_ha_join() prints it: network/dotted-mask, port after the addr."""
    match = parse_match(entry)
    address = match.address
    assert address is not None
    net = type(address)(match.start)
    mask = type(address)(match.mask)
    if match.port is not None:
        host = f"[{net}]" if match.version == 6 else str(net)
        return f"{host}:{match.port}/{mask}"
    return f"{net}/{mask}"


@pytest.fixture
def staged(lab_config: Lab) -> Iterator[Lab]:
    """The lab with room for extra files; pjsip.d is removed afterwards."""
    yield lab_config
    shutil.rmtree(lab_config.config_dir / "pjsip.d", ignore_errors=True)


def install_tricky(config_dir: Path) -> None:
    shutil.copy(TRICKY / "pjsip.conf", config_dir / "pjsip.conf")
    shutil.rmtree(config_dir / "pjsip.d", ignore_errors=True)
    shutil.copytree(TRICKY / "pjsip.d", config_dir / "pjsip.d")
    (config_dir / "pjsip_wizard.conf").write_text(WIZARD)


def endpoint_fields(obj: PjsipObject) -> dict[str, str]:
    """What EndpointDetail should say for the options the tricky config sets."""
    def yes_no(name: str) -> str:
        return "true" if obj.value(name, "no").lower() in ("yes", "true", "1") else "false"

    return {
        "context": obj.value("context", "default"),
        "aors": obj.value("aors"),
        "fromuser": obj.value("from_user"),
        "directmedia": yes_no("direct_media"),
        "rtpsymmetric": yes_no("rtp_symmetric"),
        "rewritecontact": yes_no("rewrite_contact"),
        "transport": obj.value("transport"),
        "allow": "(" + "|".join(obj.names("allow")) + ")",
    }


def test_tricky_config_agrees_with_asterisk(staged: Lab, lab_ami: AmiProbe) -> None:
    install_tricky(staged.config_dir)
    reload_pjsip(lab_ami)
    system = load_asterisk(staged.config_dir)
    pjsip = system.pjsip
    assert not [f for f in system.loaded["pjsip.conf"].issues if f.level.value == "fatal"]

    ours = our_endpoints(pjsip)
    assert ours == {"alpha", "beta", "gamma", "wtrunk"}
    dns_rejected: set[str] = set()
    assert asterisk_endpoints(lab_ami) == ours

    for name in sorted(ours):
        endpoint = pjsip.get("endpoint", name)
        assert endpoint is not None
        events = endpoint_detail(lab_ami, name)
        detail = next(e for e in events if first(e, "event") == "EndpointDetail")
        reported = {key: first(detail, key) for key in endpoint_fields(endpoint)}
        assert reported == endpoint_fields(endpoint), name

        identifies = {first(e, "objectname"): first(e, "match") for e in events
                      if first(e, "event") == "IdentifyDetail"}
        expected = {obj.id: obj for obj in pjsip.of_type("identify")
                    if obj.value("endpoint") == name}
        log = log_tail(staged, 400)
        for identify_id, identify in list(expected.items()):
            # A hostname that does not resolve at reload rejects the whole identify.
            if identify_id not in identifies and any(
                    m.is_host for m, _ in pjsip.matches(identify)):
                assert f"Identify '{identify_id}' failed when adding resolution" in log
                del expected[identify_id]
                dns_rejected.add(identify_id)
        assert set(identifies) == set(expected), log
        for identify_id, identify in expected.items():
            literal = {ha_text(m.raw) for m, _ in pjsip.matches(identify) if m.is_address}
            hosts = [m for m, _ in pjsip.matches(identify) if m.is_host]
            shown = set(identifies[identify_id].split(",")) - {""}
            assert literal <= shown, (identify_id, shown, literal)
            extra = shown - literal
            if hosts:
                # localhost resolves at load time; only its addresses are shown
                assert extra, identify_id
                assert extra <= {"127.0.0.1/255.255.255.255",
                                 "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}
            else:
                assert extra == set(), identify_id

    listing = "\n".join(lab_ami.command("pjsip show identifies"))
    for identify in pjsip.of_type("identify"):
        assert (identify.id in listing) != (identify.id in dns_rejected)


@pytest.mark.parametrize("content_bytes", [8190, 8191])
def test_grammar_corners_agree_with_asterisk(staged: Lab, lab_ami: AmiProbe,
                                             content_bytes: int) -> None:
    long = "x" * (content_bytes - len("context="))  # the context= line's length
    text = EDGES.replace("{long}", long)
    (staged.config_dir / "pjsip.conf").write_text(text)
    reload_pjsip(lab_ami)
    system = load_asterisk(staged.config_dir)
    ours = our_endpoints(system.pjsip)
    assert "edge-ok" in ours
    assert "edge-typo" not in ours  # unknown option: Asterisk rejects the object
    assert "edge-type" not in ours  # misspelt type: no object at all
    theirs = asterisk_endpoints(lab_ami)
    assert {e for e in theirs if e.startswith("edge")} == ours
    # 8191 bytes or more: Asterisk skips the line, and the context stays 'default'
    edge_long = system.pjsip.get("endpoint", "edge-long")
    assert edge_long is not None
    expected = "default" if content_bytes >= 8191 else long
    assert edge_long.value("context", "default") == expected
    detail = next(e for e in endpoint_detail(lab_ami, "edge-long")
                  if first(e, "event") == "EndpointDetail")
    assert first(detail, "context") == expected
