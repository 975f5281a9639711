"""Verdict engine on captured rulesets (nft 1.0.6 JSON and iptables-save from real loads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trunkconsole.net.collect import load_files
from trunkconsole.net.engine import Engine
from trunkconsole.net.nftjson import parse_ruleset
from trunkconsole.net.packet import Probe
from trunkconsole.net.verdict import Decision

FIX = Path(__file__).parent.parent / "fixtures" / "net"
PBX = "203.0.113.1"


def engine(*names: str) -> Engine:
    json_file = FIX / names[0]
    return Engine(load_files(json_file, [FIX / n for n in names[1:]]))


def test_provider_in_interval_set_is_accepted_through_vmap_jump() -> None:
    verdict = engine("native.json").evaluate(Probe("198.51.100.7", 5060, dst=PBX, iif="eth0"))
    assert verdict.decision is Decision.ACCEPT
    assert verdict.deciding is not None
    assert verdict.deciding.label == "inet pbx sip_in #22"
    assert verdict.deciding.text == "ip saddr @sip_providers4 accept"
    steps = [s.render() for s in verdict.outcomes[0].path]
    assert "inet pbx input #16: meta l4proto { tcp, udp } th dport vmap @sig_vmap -> jump " \
           "sip_in" in steps


def test_drop_in_an_earlier_table_is_final() -> None:
    verdict = engine("native.json").evaluate(Probe("192.0.2.66", 5060, dst=PBX, iif="eth0"))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.label == "ip blocklist check #5"


def test_rtp_range_is_split_at_rule_boundaries() -> None:
    result = engine("native.json").evaluate_range(
        Probe("192.0.2.110", 10000, 20000, dst=PBX, iif="eth0"))
    assert result.summary() == ("10000-10049 accepted by inet pbx input #17, "
                                "10050-20000 dropped by inet pbx input #20")
    assert result.ports_with(Decision.DROP) == 9951


def test_rtp_range_from_carrier_prefix_is_accepted_in_two_classes() -> None:
    result = engine("native.json").evaluate_range(
        Probe("198.51.100.9", 10000, 20000, dst=PBX, iif="eth0"))
    assert result.decision is Decision.ACCEPT
    assert [(c.lo, c.hi) for c in result.classes] == [(10000, 10049), (10050, 20000)]


def test_ban_set_names_the_rule_and_warns_that_it_is_a_snapshot() -> None:
    verdict = engine("native.json").evaluate(Probe("203.0.113.66", 10000, dst=PBX, iif="eth0"))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.text == 'ip saddr @banned drop comment "fail2ban-style ban"'
    assert any("@banned" in note and "run time" in note for note in verdict.notes)


def test_concat_set_accepts_only_its_pairs() -> None:
    eng = engine("native.json")
    ok = eng.evaluate(Probe("198.51.100.8", 5061, proto="tcp", dst=PBX, iif="eth0"))
    no = eng.evaluate(Probe("198.51.100.8", 5062, proto="tcp", dst=PBX, iif="eth0"))
    assert ok.decision is Decision.ACCEPT
    assert ok.deciding is not None
    assert ok.deciding.label == "inet pbx input #18"
    assert no.decision is Decision.DROP


def test_unknown_destination_makes_a_daddr_rule_depend() -> None:
    verdict = engine("native.json").evaluate(Probe("192.0.2.66", 5060, iif="eth0"))
    assert verdict.decision is Decision.DROP  # dropped on both branches
    assert any("ip daddr != 203.0.113.1" in a for a in verdict.assumptions)


def test_ufw_json_alone_depends_on_xt_matches() -> None:
    eng = Engine(load_files(FIX / "ufw.json", []))
    verdict = eng.evaluate(Probe("192.0.2.77", 15000, dst=PBX, iif="wan0"))
    assert verdict.decision is Decision.DEPENDS
    assert any("xt match" in a for a in verdict.assumptions)
    assert any("iptables-nft matches" in n for n in eng.ruleset.notes)


def test_ufw_with_iptables_save_decides_multiport_ranges() -> None:
    eng = engine("ufw.json", "ufw.save", "ufw.save6")
    rtp = eng.evaluate(Probe("192.0.2.77", 15000, dst=PBX, iif="wan0"))
    assert rtp.decision is Decision.ACCEPT
    assert rtp.deciding is not None
    assert rtp.deciding.label == "ip filter ufw-user-input rule 4 (iptables-nft)"
    tls = eng.evaluate(Probe("203.0.113.10", 5061, proto="tcp", dst=PBX, iif="wan0"))
    assert tls.decision is Decision.DROP
    assert tls.deciding is not None
    assert tls.deciding.label == "ip filter INPUT policy"
    limited = eng.evaluate(Probe("192.0.2.77", 2222, proto="tcp", dst=PBX, iif="wan0"))
    assert limited.decision is Decision.DEPENDS
    assert {o.decision for o in limited.outcomes} == {Decision.ACCEPT, Decision.DROP}
    assert any("-m recent" in a for a in limited.assumptions)


def test_ufw_negated_multiport_rejects_only_outside_the_list() -> None:
    eng = engine("ufw.json", "ufw.save", "ufw.save6")
    assert eng.evaluate(Probe("198.51.100.200", 10000, dst=PBX, iif="wan0")).decision is \
        Decision.ACCEPT
    earlier = eng.evaluate(Probe("198.51.100.200", 5080, dst=PBX, iif="wan0"))
    assert earlier.decision is Decision.ACCEPT  # 5080 accepted by an earlier rule
    rejected = eng.evaluate(Probe("198.51.100.200", 15000, dst=PBX, iif="wan0"))
    assert rejected.decision is Decision.ACCEPT  # the RTP rule comes first
    other = eng.evaluate_range(Probe("198.51.100.200", 4000, 4600, dst=PBX, iif="wan0"))
    assert other.summary() == (
        "4000-4569 dropped by ip filter ufw-user-input rule 12 (iptables-nft), "
        "4570 accepted by ip filter ufw-user-input rule 11 (iptables-nft), "
        "4571-4600 dropped by ip filter ufw-user-input rule 12 (iptables-nft)")
    assert not other.classes[0].verdict.assumptions


def test_ufw6_accepts_provider_prefix_and_drops_others() -> None:
    eng = engine("ufw.json", "ufw.save", "ufw.save6")
    good = eng.evaluate(Probe("2001:db8:5060::1", 5060, dst="2001:db8:1::1", iif="wan0"))
    bad = eng.evaluate(Probe("2001:db8:6::9", 5060, dst="2001:db8:1::1", iif="wan0"))
    assert good.decision is Decision.ACCEPT
    assert bad.decision is Decision.DROP


def test_legacy_drop_wins_over_nft_accept() -> None:
    eng = engine("legacy.json", "legacy.legacy-save")
    verdict = eng.evaluate(Probe("192.0.2.66", 5060, dst=PBX, iif="wan0"))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.label == "legacy ip filter INPUT rule 1 (iptables-legacy)"
    assert any("helper 'sip'" in n for n in verdict.notes)
    other = eng.evaluate(Probe("192.0.2.67", 5060, dst=PBX, iif="wan0"))
    assert other.decision is Decision.ACCEPT


def test_firewalld_ipv6_rpfilter_depends_without_route_facts() -> None:
    eng = engine("firewalld.json")
    unknown = eng.evaluate(Probe("2001:db8:5060::1", 5060, dst="2001:db8:1::1", iif="wan0"))
    known = eng.evaluate(Probe("2001:db8:5060::1", 5060, dst="2001:db8:1::1", iif="wan0",
                               rpf_ok=True))
    assert unknown.decision is Decision.DEPENDS
    assert any("fib" in a for a in unknown.assumptions)
    assert known.decision is Decision.ACCEPT
    assert any("helper-sip-udp" in n for n in known.notes)


def test_firewalld_rich_rule_drop_comes_before_sip_service() -> None:
    verdict = engine("firewalld.json").evaluate(Probe("192.0.2.66", 5060, dst=PBX, iif="wan0"))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.chain == "filter_IN_public_deny"
    assert verdict.deciding.owner == "firewalld"


def test_established_packets_take_the_conntrack_rule() -> None:
    verdict = engine("firewalld.json").evaluate(
        Probe("192.0.2.99", 40000, dst=PBX, iif="wan0", state="established"))
    assert verdict.decision is Decision.ACCEPT
    assert verdict.deciding is not None
    assert "ct state" in verdict.deciding.text


def _doc(*items: dict[str, object]) -> str:
    return json.dumps({"nftables": [{"metainfo": {"version": "1.1.4"}}, *items]})


def _chain(name: str, **base: object) -> dict[str, object]:
    return {"chain": {"family": "inet", "table": "t", "name": name, "handle": 1, **base}}


def _rule(chain: str, handle: int, *expr: object) -> dict[str, object]:
    return {"rule": {"family": "inet", "table": "t", "chain": chain, "handle": handle,
                     "expr": list(expr)}}


UDP = {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}}
BASE = {"type": "filter", "hook": "input", "prio": 0, "policy": "drop"}


def test_return_from_a_gotoed_chain_returns_to_the_jumping_chains_caller() -> None:
    doc = _doc(_chain("in", **BASE), _chain("a"), _chain("b"),
               _rule("in", 2, {"jump": {"target": "a"}}),
               _rule("in", 3, {"accept": None}),
               _rule("a", 4, {"goto": {"target": "b"}}),
               _rule("a", 5, {"drop": None}),
               _rule("b", 6, {"return": None}))
    verdict = Engine(parse_ruleset(doc)).evaluate(Probe("192.0.2.1", 5060))
    assert verdict.decision is Decision.ACCEPT  # b returns past a's drop
    assert verdict.deciding is not None
    assert verdict.deciding.label == "inet t in #3"


def test_version_differences_are_tolerated() -> None:
    doc = _doc({"table": {"family": "inet", "name": "t"}},
               {"set": {"family": "inet", "table": "t", "name": "s", "type": "ipv4_addr",
                        "flags": "interval", "elem": {"elem": {"val": {"prefix": {
                            "addr": "192.0.2.0", "len": 24}}, "timeout": 60}}}},
               _chain("in", **BASE),
               _rule("in", 2, {"xt": None}, {"drop": None}),
               _rule("in", 3, {"match": {"op": "==", "left": {"payload": {
                   "protocol": "ip", "field": "saddr"}}, "right": "@s"}}, {"accept": None}))
    verdict = Engine(parse_ruleset(doc)).evaluate(Probe("192.0.2.7", 5060))
    assert verdict.decision is Decision.DEPENDS
    assert any("nft older than 1.0.6" in a for a in verdict.assumptions)
    assert {o.deciding.label for o in verdict.outcomes} == {"inet t in #2", "inet t in #3"}


def test_queue_is_undecidable_and_says_why() -> None:
    doc = _doc(_chain("in", **BASE), _rule("in", 2, UDP, {"queue": {"num": 1}}))
    verdict = Engine(parse_ruleset(doc)).evaluate(Probe("192.0.2.7", 5060))
    assert verdict.decision is Decision.DEPENDS
    assert any("userspace program" in a for a in verdict.assumptions)


def test_dnat_to_another_host_goes_to_the_forward_hook() -> None:
    doc = _doc(_chain("nat", type="nat", hook="prerouting", prio=-100, policy="accept"),
               _chain("fwd", type="filter", hook="forward", prio=0, policy="drop"),
               _chain("in", type="filter", hook="input", prio=0, policy="accept"),
               _rule("nat", 2, UDP, {"dnat": {"family": "ip", "addr": "192.0.2.50",
                                              "port": 5080}}))
    eng = Engine(parse_ruleset(doc), local_addresses=["203.0.113.1"])
    verdict = eng.evaluate(Probe("198.51.100.7", 5060, dst=PBX))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.label == "inet t fwd policy"
    assert any("forward hook" in n for n in verdict.notes)


@pytest.mark.parametrize(("state", "expected"), [("new", Decision.DROP),
                                            ("established", Decision.ACCEPT)])
def test_ct_state_bitmask_semantics(state: str, expected: Decision) -> None:
    doc = _doc(_chain("in", **BASE),
               _rule("in", 2, {"match": {"op": "in", "left": {"ct": {"key": "state"}},
                                         "right": ["established", "related"]}},
                     {"accept": None}))
    verdict = Engine(parse_ruleset(doc)).evaluate(Probe("192.0.2.7", 5060, state=state))
    assert verdict.decision is expected
