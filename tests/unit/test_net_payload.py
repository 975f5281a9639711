"""Payload matches decided on the modelled probe (INVITE / RTP / SYN), quotas decided from
their listed use, ingress devices from nft text, unreadable statements kept to one rule.
The kernel's own answers for the same rules are in tests/netns/test_wild_agreement.py."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from trunkconsole.net import payload
from trunkconsole.net.engine import Engine
from trunkconsole.net.ingress import devices_from_text, fill_devices
from trunkconsole.net.iptsave import parse_save
from trunkconsole.net.ir import Ruleset
from trunkconsole.net.nftjson import parse_ruleset
from trunkconsole.net.packet import Probe
from trunkconsole.net.verdict import Decision

PBX = "203.0.113.1"
SNAFU_U32 = "0x0>>0x16&0x3c@0x8=0x52454749,0x4f505449"  # REGI/OPTI at the UDP payload


def save_engine(*rules: str) -> Engine:
    text = "\n".join(["*filter", ":INPUT ACCEPT [0:0]", *rules, "COMMIT"])
    return Engine(Ruleset(parse_save(text, "ip", "iptables-legacy")))


def verdict(engine: Engine, port: int, proto: str = "udp") -> Decision:
    return engine.evaluate(Probe("198.51.100.7", port, proto=proto, dst=PBX,
                                 iif="eth0")).decision


@pytest.mark.parametrize("rule", [
    "-A INPUT -p udp --dport 5060 -m string --string friendly-scanner --algo bm --to 65535 "
    "-j DROP",
    "-A INPUT -m string --string VaxSIPUserAgent --algo kmp -j DROP",
    "-A INPUT -m string --icase --string SIPVICIOUS --algo bm -j DROP",
])
def test_scanner_signatures_never_match_a_provider_invite(rule: str) -> None:
    assert verdict(save_engine(rule), 5060) is Decision.ACCEPT


def test_a_string_every_invite_carries_matches_and_a_syn_carries_none() -> None:
    engine = save_engine("-A INPUT -m string --string INVITE --algo bm -j DROP")
    assert verdict(engine, 5060) is Decision.DROP
    assert verdict(engine, 5060, "tcp") is Decision.ACCEPT  # the SYN has no payload
    assert verdict(engine, 15000) is Decision.DEPENDS  # RTP audio: not in the files
    other = engine.evaluate(Probe("198.51.100.7", 15000, dst=PBX))
    assert "packet's contents" in other.unknown_lines()[0]


def test_u32_reads_the_modelled_bytes() -> None:
    engine = save_engine(f'-A INPUT -p udp -m u32 --u32 "{SNAFU_U32}" -j DROP')
    assert verdict(engine, 5060) is Decision.ACCEPT  # "INVI" is neither REGI nor OPTI
    assert verdict(engine, 15000) is Decision.ACCEPT  # RTP starts with 0x80
    invite = save_engine('-A INPUT -p udp -m u32 --u32 "0>>22&0x3C@8=0x494e5649" -j DROP')
    assert verdict(invite, 5060) is Decision.DROP


def test_u32_over_unknown_bits_is_undecided() -> None:
    ttl = save_engine('-A INPUT -m u32 --u32 "5&0xFF=64" -j DROP')  # the TTL byte
    assert verdict(ttl, 5060) is Decision.DEPENDS


def test_length_decides_a_syn_and_leaves_a_datagram() -> None:
    engine = save_engine("-A INPUT -m length --length 1400:65535 -j DROP")
    assert verdict(engine, 5061, "tcp") is Decision.ACCEPT
    assert verdict(engine, 5060) is Decision.DEPENDS


@pytest.mark.parametrize(("rule", "decision"), [
    ("-A INPUT -m physdev --physdev-is-bridged -j DROP", Decision.ACCEPT),
    ("-A INPUT -m physdev ! --physdev-is-bridged -j DROP", Decision.DROP),
    ("-A INPUT -m physdev --physdev-in eth1 -j DROP", Decision.DEPENDS),
])
def test_physdev_on_the_way_in(rule: str, decision: Decision) -> None:
    assert verdict(save_engine(rule), 5060) is decision


def test_read_bits_needs_every_bit_known() -> None:
    known = payload.transport("sip", 5060, None)
    assert payload.read_bits(known, 16, 16) == 5060
    assert payload.read_bits(known, 64, 32) == int.from_bytes(b"INVI", "big")
    assert payload.read_bits(known, 0, 16) is None  # source port not given
    head = payload.network_header(4, 17, int(ipaddress.ip_address("198.51.100.7")), None)
    assert payload.read_bits(head, 96, 32) == int(ipaddress.ip_address("198.51.100.7"))
    assert payload.read_bits(head, 51, 13) == 0  # fragment offset of an unfragmented probe


def _nft(rules: list[list[Any]], extra: tuple[Any, ...] = ()) -> Engine:
    items: list[Any] = [
        {"table": {"family": "inet", "name": "t"}},
        {"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter",
                   "hook": "input", "prio": 0, "policy": "accept"}}, *extra]
    items += [{"rule": {"family": "inet", "table": "t", "chain": "in", "handle": i + 2,
                        "expr": expr}} for i, expr in enumerate(rules)]
    return Engine(parse_ruleset({"nftables": items}))


def test_raw_transport_payload_and_frag_off() -> None:
    th: Any = {"payload": {"base": "th", "offset": 64, "len": 32}}
    frag: Any = {"&": [{"payload": {"protocol": "ip", "field": "frag-off"}}, 8191]}
    engine = _nft([
        [{"match": {"op": "!=", "left": frag, "right": 0}}, {"drop": None}],
        [{"match": {"op": "==", "left": th, "right": int.from_bytes(b"OPTI", "big")}},
         {"drop": None}],
        [{"match": {"op": "==", "left": th, "right": int.from_bytes(b"INVI", "big")}},
         {"reject": None}]])
    assert verdict(engine, 5060) is Decision.DROP
    deciding = engine.evaluate(Probe("198.51.100.7", 5060, dst=PBX)).deciding
    assert deciding is not None
    assert deciding.label.endswith("#4")
    assert verdict(engine, 5060, "tcp") is Decision.DEPENDS  # TCP header past the ports


def test_a_named_quota_is_decided_from_its_listed_use() -> None:
    quota: list[Any] = [{"quota": "q"}, {"drop": None}]
    far = {"quota": {"family": "inet", "table": "t", "name": "q", "bytes": 10 << 30,
                     "used": 0, "inv": True}}
    spent = {"quota": {"family": "inet", "table": "t", "name": "q", "bytes": 1 << 20,
                       "used": 2 << 20, "inv": True}}
    assert verdict(_nft([quota], (far,)), 5060) is Decision.ACCEPT
    assert verdict(_nft([quota], (spent,)), 5060) is Decision.DROP
    assert verdict(_nft([quota]), 5060) is Decision.DEPENDS  # not in the listing


def test_an_unreadable_statement_makes_only_its_rule_unknown() -> None:
    engine = _nft([[{"vmap": {"key": {"meta": {"key": "mark"}}, "data": 7}}],
                   [{"drop": None}]])
    result = engine.evaluate(Probe("198.51.100.7", 5060, dst=PBX))
    assert result.decision is Decision.DEPENDS
    assert "cannot read" in result.unknown_lines()[0]


def test_ingress_devices_from_text_and_the_fork_without_them() -> None:
    assert devices_from_text('type filter hook ingress device "wan0" priority -500;') == \
        ["wan0"]
    assert devices_from_text('hook ingress devices = { "a", "b" } priority 0;') == ["a", "b"]
    document: Any = {"nftables": [{"chain": {"family": "netdev", "table": "e", "name": "i",
                                        "hook": "ingress", "prio": -500}}]}
    fill_devices(document, lambda cmd: (0, 'chain i { type filter hook ingress device '
                                           '"wan0" priority -500; policy accept; }', ""))
    assert document["nftables"][0]["chain"]["dev"] == "wan0"
    items: list[Any] = [{"table": {"family": "netdev", "name": "e"}},
             {"chain": {"family": "netdev", "table": "e", "name": "i", "type": "filter",
                        "hook": "ingress", "prio": -500, "policy": "accept"}},
             {"rule": {"family": "netdev", "table": "e", "chain": "i", "handle": 2,
                       "expr": [{"drop": None}]}}]
    unlisted = Engine(parse_ruleset(json.dumps({"nftables": items})))
    result = unlisted.evaluate(Probe("198.51.100.7", 5060, dst=PBX, iif="wan0"))
    assert result.decision is Decision.DEPENDS
    assert "ingress chain" in result.unknown_lines()[0]
    items[1]["chain"]["dev"] = "wan0"
    listed = Engine(parse_ruleset(json.dumps({"nftables": items})))
    assert listed.evaluate(Probe("198.51.100.7", 5060, dst=PBX, iif="wan0")).decision is \
        Decision.DROP
    assert listed.evaluate(Probe("198.51.100.7", 5060, dst=PBX, iif="eth1")).decision is \
        Decision.ACCEPT


def test_syn_mss_and_null_flag_checks_from_a_bogon_filter() -> None:
    flags: Any = {"payload": {"protocol": "tcp", "field": "flags"}}
    mss: Any = {"tcp option": {"name": "maxseg", "field": "size"}}
    small = [{"match": {"op": "==", "left": mss, "right": {"range": [1, 535]}}},
             {"drop": None}]
    big = [{"match": {"op": "==", "left": mss, "right": {"range": [1400, 1460]}}},
           {"drop": None}]
    assert verdict(_nft([small]), 5061, "tcp") is Decision.ACCEPT
    assert verdict(_nft([big]), 5061, "tcp") is Decision.DEPENDS  # the sender's MSS
    assert verdict(_nft([small]), 5060) is Decision.ACCEPT  # UDP has no TCP options
    # nft 1.0.6 lists `tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0` as op "!" on the field
    plain_null = [{"match": {"op": "!", "left": flags,
                             "right": ["fin", "syn", "rst", "psh", "ack", "urg"]}},
                  {"drop": None}]
    assert verdict(_nft([plain_null]), 5061, "tcp") is Decision.ACCEPT  # a SYN has SYN


def test_a_save_cut_inside_a_table_is_refused() -> None:
    from trunkconsole.errors import OperatorError

    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport 5060 -j ACCEPT\n"
    with pytest.raises(OperatorError, match="without COMMIT"):
        parse_save(text, "ip", "iptables-legacy")


def test_a_dynset_with_a_timeout_renders_as_nft_prints_it() -> None:
    from trunkconsole.net.render import render_statement

    raw = {"set": {"op": "update", "set": "@meter", "elem": {"elem": {
        "val": {"payload": {"protocol": "ip", "field": "saddr"}}, "timeout": 7200}},
        "stmt": [{"limit": {"rate": 20, "per": "hour"}}]}}
    assert render_statement(raw) == "update @meter { ip saddr timeout 7200s limit rate 20/hour }"


def test_classic_bpf_runs_on_the_modelled_bytes() -> None:
    udp_5062 = "7,48 0 0 9,21 0 4 17,177 0 0 0,72 0 0 2,21 0 1 5062,6 0 0 1,6 0 0 0"
    engine = save_engine(f'-A INPUT -m bpf --bytecode "{udp_5062}" -j DROP')
    assert verdict(engine, 5062) is Decision.DROP
    assert verdict(engine, 5060) is Decision.ACCEPT
    assert verdict(engine, 5062, "tcp") is Decision.ACCEPT  # protocol byte is 6
    ttl = save_engine('-A INPUT -m bpf --bytecode "4,48 0 0 8,21 0 1 64,6 0 0 1,6 0 0 0" '
                      "-j DROP")
    assert verdict(ttl, 5060) is Decision.DEPENDS  # the TTL is not in the files


def test_a_port_span_splits_where_a_payload_match_changes_its_mind() -> None:
    udp_5062 = "7,48 0 0 9,21 0 4 17,177 0 0 0,72 0 0 2,21 0 1 5062,6 0 0 1,6 0 0 0"
    engine = save_engine(f'-A INPUT -m bpf --bytecode "{udp_5062}" -j DROP',
                         "-A INPUT -m string --string INVITE --algo bm -j REJECT")
    result = engine.evaluate_range(Probe("198.51.100.7", 5000, 6000, dst=PBX))
    summary = [(c.lo, c.hi, c.verdict.decision,
                c.verdict.deciding.label.split(" (")[0] if c.verdict.deciding else "")
               for c in result.classes]
    rule1, rule2 = "legacy ip filter INPUT rule 1", "legacy ip filter INPUT rule 2"
    assert summary == [(5000, 5059, Decision.DEPENDS, rule2), (5060, 5061, Decision.DROP, rule2),
                       (5062, 5062, Decision.DROP, rule1), (5063, 5099, Decision.DROP, rule2),
                       (5100, 5159, Decision.DEPENDS, rule2), (5160, 5161, Decision.DROP, rule2),
                       (5162, 6000, Decision.DEPENDS, rule2)]
    rtp = engine.evaluate_range(Probe("198.51.100.7", 10000, 20000, dst=PBX))
    assert rtp.decision is Decision.DEPENDS  # RTP audio may or may not hold "INVITE"
    assert len(rtp.classes) == 1


def test_a_headerless_save_not_in_the_nft_listing_is_named_not_dropped_silently() -> None:
    from trunkconsole.net.ruleset import assemble

    nft = parse_ruleset({"nftables": [{"table": {"family": "inet", "name": "t"}}]})
    ruleset = assemble(nft, ["*filter\n:INPUT DROP [0:0]\nCOMMIT\n"])
    assert any("ip filter" in n and "left out" in n for n in ruleset.notes)
