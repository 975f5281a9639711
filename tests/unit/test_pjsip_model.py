"""The resolved PJSIP model: types, options with origins, wizard expansion, matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.pjsip.manager import classes, manager_config
from trunkconsole.pjsip.matches import parse_match
from trunkconsole.pjsip.rtp import rtp_range
from trunkconsole.pjsip.system import AsteriskConfig, load_asterisk
from trunkconsole.resources import sample_configs_dir

TRICKY = sample_configs_dir() / "tricky"


def load(tmp_path: Path, files: dict[str, str]) -> AsteriskConfig:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return load_asterisk(tmp_path)


def test_tricky_sample_resolves_with_origins() -> None:
    system = load_asterisk(TRICKY)
    pjsip = system.pjsip
    alpha = pjsip.get("endpoint", "alpha")
    assert alpha is not None
    assert alpha.loaded
    context = alpha.last("context")
    assert context is not None
    assert (context.value, context.file, context.line) == ("from-trunk", "pjsip.conf", 24)
    assert alpha.describe(context) == "from template trunk, pjsip.conf:24"
    direct = alpha.last("direct_media")
    assert direct is not None
    assert alpha.template_of(direct) == "nat"
    assert alpha.value("from_user") == "alpha;tag"
    assert alpha.names("allow") == ["alaw", "ulaw"]
    beta = pjsip.get("endpoint", "beta")
    assert beta is not None
    assert beta.value("context") == "from-beta"
    aor = pjsip.get("aor", "alpha")
    assert aor is not None
    assert aor.value("qualify_frequency") == "30"
    identify = pjsip.get("identify", "alpha")
    assert identify is not None
    assert identify.names("match") == ["198.51.100.1", "198.51.100.2", "198.51.100.3",
                                       "198.51.100.4"]
    gamma = pjsip.get("identify", "gamma-identify")
    assert gamma is not None
    assert gamma.file == "pjsip.d/20-gamma.conf"
    assert [m.raw for m, _ in pjsip.matches(gamma)] == ["localhost", "198.51.100.40:5060"]
    assert pjsip.get("endpoint", "disabled") is None  # inside a block comment
    assert [o.id for o in pjsip.of_type("endpoint")] == ["alpha", "beta", "gamma"]


def test_type_rules(tmp_path: Path) -> None:
    system = load(tmp_path, {"pjsip.conf": (
        "[t](!)\ntype=aor\n[a](t)\n[b]\ntype=Endpoint\n[c]\ncontext=x\n"
        "[d]\ntype=endpoint\nfoo=bar\nDIRECT_MEDIA=no\n@custom=1\n"
        "[e]\ntype=aor\n[e]\ntype=aor\n")})
    pjsip = system.pjsip
    assert pjsip.get("aor", "a") is not None  # type comes from the template
    assert [(u.category.name, u.type_value) for u in pjsip.untyped] == [("b", "Endpoint"),
                                                                         ("c", None)]
    d = pjsip.get("endpoint", "d")
    assert d is not None
    assert [o.name for o in d.unknown] == ["foo"]
    assert not d.loaded
    assert pjsip.type_failed("aor")
    assert len(pjsip.duplicates["aor"][0]) == 2


def test_identify_rejections(tmp_path: Path) -> None:
    system = load(tmp_path, {"pjsip.conf": (
        "[i1]\ntype=identify\nmatch=1.2.3.4\n"
        "[i2]\ntype=identify\nendpoint=x\n"
        "[i3]\ntype=identify\nendpoint=x\nmatch=1.2.3.4/33\n"
        "[i4]\ntype=identify\nendpoint=x\nmatch_header=X-Trunk: a\n")})
    by_id = {o.id: o for o in system.pjsip.of_type("identify")}
    assert by_id["i1"].rejected == ["Identify 'i1' missing required endpoint name."]
    assert by_id["i2"].rejected == ["Identify 'i2' is not configured to match anything."]
    assert by_id["i3"].rejected
    assert by_id["i3"].invalid
    assert by_id["i4"].loaded


def test_wizard_expansion_names_and_values(tmp_path: Path) -> None:
    system = load(tmp_path, {
        "pjsip.conf": "[transport-udp]\ntype=transport\n",
        "pjsip_wizard.conf": (
            "[wt](!)\ntype=wizard\nendpoint/context=from-itsp\n"
            "[mytrunk](wt)\nsends_auth=yes\nsends_registrations=yes\ntransport=transport-udp\n"
            "remote_hosts=sip1.itsp.example:5060,203.0.113.7\n"
            "outbound_auth/username=12345\noutbound_auth/password=secret\n"
            "endpoint/allow=ulaw\n")})
    pjsip = system.pjsip
    ids = sorted((o.type, o.id) for o in pjsip.objects if o.wizard)
    assert ids == [("aor", "mytrunk"), ("auth", "mytrunk-oauth"), ("endpoint", "mytrunk"),
                   ("identify", "mytrunk-identify"), ("registration", "mytrunk-reg-0"),
                   ("registration", "mytrunk-reg-1")]
    endpoint = pjsip.get("endpoint", "mytrunk")
    assert endpoint is not None
    assert endpoint.value("context") == "from-itsp"
    assert endpoint.value("outbound_auth") == "mytrunk-oauth"
    assert endpoint.value("aors") == "mytrunk"
    context = endpoint.last("context")
    assert context is not None
    assert endpoint.describe(context) == "from wizard mytrunk via template wt, pjsip_wizard.conf:3"
    identify = pjsip.get("identify", "mytrunk-identify")
    assert identify is not None
    assert identify.names("match") == ["sip1.itsp.example:5060",
                                                                "203.0.113.7"]
    aor = pjsip.get("aor", "mytrunk")
    assert aor is not None
    assert aor.names("contact") == ["sip:sip1.itsp.example:5060",
                                                        "sip:203.0.113.7"]
    reg = pjsip.get("registration", "mytrunk-reg-1")
    assert reg is not None
    assert reg.value("client_uri") == "sip:12345@203.0.113.7"
    assert reg.value("server_uri") == "sip:203.0.113.7"


@pytest.mark.parametrize(("entry", "version", "network", "port", "host"), [
    ("203.0.113.10", 4, "203.0.113.10/32", None, None),
    ("203.0.113.0/24", 4, "203.0.113.0/24", None, None),
    ("203.0.113.7/255.255.255.0", 4, "203.0.113.0/24", None, None),
    ("203.0.113.10:5061", 4, "203.0.113.10/32:5061", 5061, None),
    ("3.2.1.0:5061/24", 4, "3.2.1.0/24:5061", 5061, None),
    ("[2001:db8::1]:5060", 6, "2001:db8::1/128:5060", 5060, None),
    ("2001:db8::/32", 6, "2001:db8::/32", None, None),
    ("sip.provider.example", 0, "sip.provider.example", None, "sip.provider.example"),
    ("sip.provider.example:5060", 0, "sip.provider.example:5060", None,
     "sip.provider.example:5060"),
])
def test_match_forms(entry: str, version: int, network: str, port: int | None,
                     host: str | None) -> None:
    match = parse_match(entry)
    assert (match.version, match.network_text(), match.port, match.host, match.error) == (
        version, network, port, host, None)


def test_bad_matches_and_overlap() -> None:
    assert parse_match("203.0.113.0/40").error
    assert parse_match("nonsense/24").error
    wide, single = parse_match("198.51.100.0/24"), parse_match("198.51.100.20")
    assert wide.overlaps(single)
    assert not single.overlaps(parse_match("198.51.100.21"))
    assert not parse_match("1.2.3.4:5060").overlaps(parse_match("1.2.3.4:5061"))
    odd_mask = parse_match("10.0.0.1/255.0.255.0")  # non-contiguous masks are legal
    assert odd_mask.prefix_length is None
    assert odd_mask.overlaps(parse_match("10.9.0.77"))


@pytest.mark.parametrize(("start", "end", "expected", "notes"), [
    (None, None, (5000, 31000), 0),
    ("10000", "20000", (10000, 20000), 0),
    ("10001", "20000", (10002, 20000), 1),  # odd start rounded up
    ("20000", "10000", (5000, 31000), 1),  # unreasonable: defaults
    ("80", "99999", (1024, 65535), 0),  # clamped
    ("abc", "2000", (1024, 2000), 0),  # atoi("abc") == 0, clamped
])
def test_rtp_range(tmp_path: Path, start: str | None, end: str | None,
                   expected: tuple[int, int], notes: int) -> None:
    lines = ["[general]"] + ([f"rtpstart={start}"] if start else []) + (
        [f"rtpend={end}"] if end else [])
    system = load(tmp_path, {"pjsip.conf": "", "rtp.conf": "\n".join(lines) + "\n"})
    assert (system.rtp.start, system.rtp.end, len(system.rtp.notes)) == (*expected, notes)
    assert rtp_range(None).start == 5000


@pytest.mark.parametrize(("value", "granted"), [
    ("system,call", {"system", "call"}),
    ("system, call", {"system"}),  # ' call' is not trimmed and the last token is exact
    ("sys,call", {"system", "call"}),  # every token but the last matches by prefix
    ("call,sys", {"call"}),
    ("System,call", {"call"}),  # case-sensitive
    ("all", "ALL"),
    ("system,,call", "ALL"),  # an empty middle token matches every class
    ("a,call", "ALL"),  # 'a' is a prefix of 'all'
])
def test_manager_class_parser(value: str, granted: set[str] | str) -> None:
    from trunkconsole.pjsip.manager import CLASSES

    expected = set(CLASSES) if granted == "ALL" else granted
    assert set(classes(value)) == expected


def test_manager_users(tmp_path: Path) -> None:
    system = load(tmp_path, {"pjsip.conf": "", "manager.conf": (
        "[general]\nenabled=yes\nbindaddr=127.0.0.1\n"
        "[tc]\nsecret=x\nread=system,call\nwrite=command\nwritetimeout=50\n")})
    manager = system.manager
    assert manager.enabled
    assert manager.bindaddr == "127.0.0.1"
    user = manager.users["tc"]
    assert user.read == {"system", "call"}
    assert user.write == {"command"}
    assert user.writetimeout == 100  # the minimum
    assert manager_config(None).users == {}


def test_dialplan_contexts(tmp_path: Path) -> None:
    system = load(tmp_path, {"pjsip.conf": "", "extensions.conf": (
        "[general]\nstatic=yes\n[globals]\nX=1\n[tmpl](!)\nexten => s,1,NoOp()\n"
        "[from-trunk](tmpl)\nexten => _0X.,1,Answer()\n same => n,Hangup()\n"
        "include => other\n")})
    plan = system.dialplan
    assert sorted(plan.contexts) == ["from-trunk"]
    assert sorted(plan.contexts["from-trunk"].extensions) == ["_0X.", "s"]
    assert plan.contexts["from-trunk"].includes == ["other"]
    assert plan.similar("FROM-TRUNK") == "from-trunk"
