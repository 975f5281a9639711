"""iptables-save parsing: families, sources, multiport, negation, module grouping, targets."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.net.iptsave import detect, parse_save
from trunkconsole.net.ir import AnonSet, CtHelper, Match, Nop, Range, Unknown, Verdict

FIX = Path(__file__).parent.parent / "fixtures" / "net"


def test_detects_family_and_backend_from_the_header() -> None:
    assert detect((FIX / "ufw.save").read_text()) == ("ip", "iptables-nft")
    assert detect((FIX / "ufw.save6").read_text()) == ("ip6", "iptables-nft")
    assert detect((FIX / "legacy.legacy-save").read_text()) == ("ip", "iptables-legacy")


def test_builtin_chains_get_hook_priority_and_policy() -> None:
    tables = {t.name: t for t in parse_save((FIX / "legacy.legacy-save").read_text(), "ip",
                                            "iptables-legacy")}
    raw = tables["raw"].chains["PREROUTING"]
    assert (raw.hook, raw.prio) == ("prerouting", -300)
    assert tables["filter"].chains["INPUT"].policy == "accept"
    assert tables["raw"].chains["PREROUTING"].rules[0].statements[-1] == CtHelper("sip")


def test_multiport_negation_comment_and_recent() -> None:
    text = "\n".join([
        "*filter", ":INPUT DROP [0:0]", ":x - [0:0]",
        '-A INPUT -p udp -m multiport ! --dports 5060,10000:14999 -m comment --comment '
        '"RTP a" -j REJECT --reject-with icmp-port-unreachable',
        "-A INPUT -p tcp -m tcp --dport 2222 -m recent --update --seconds 30 --hitcount 6 "
        "--name DEFAULT --rsource -j x",
        "COMMIT"])
    (table,) = parse_save(text, "ip", "iptables-nft")
    first, second = table.chains["INPUT"].rules
    ports = first.statements[1]
    assert isinstance(ports, Match)
    assert ports.op == "!="
    assert ports.right == AnonSet((5060, Range(10000, 14999)))
    assert Nop('comment "RTP a"') in first.statements
    assert first.comment == "RTP a"
    assert first.statements[-1] == Verdict("reject")
    unknowns = [s for s in second.statements if isinstance(s, Unknown)]
    assert len(unknowns) == 1  # one condition per module, not one fork per option
    assert unknowns[0].text.startswith("-m recent --update --seconds 30")
    assert second.statements[-1] == Verdict("jump", "x")
    assert first.label() == "ip filter INPUT rule 1 (iptables-nft)"
