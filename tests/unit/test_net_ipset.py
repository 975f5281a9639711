"""`ipset save` read so `-m set --match-set` is decided (captures from ipset 7.17)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkconsole.errors import OperatorError
from trunkconsole.net.collect import load_files
from trunkconsole.net.engine import Engine
from trunkconsole.net.ipset import parse_ipset_save
from trunkconsole.net.packet import Probe
from trunkconsole.net.verdict import Decision
from trunkconsole.net.words import _PLAIN

FIX = Path(__file__).parent.parent / "fixtures" / "net"
PBX = "203.0.113.1"


def engine(with_ipsets: bool = True) -> Engine:
    ipsets = [FIX / "ipsets.ipset-save"] if with_ipsets else []
    return Engine(load_files(FIX / "ipsets.json", [FIX / "ipsets.legacy-save",
                                                   FIX / "ipsets.save6"], ipsets))


@pytest.mark.parametrize(("src", "port", "proto", "decision", "rule"), [
    ("203.0.113.66", 5060, "udp", Decision.DROP, "rule 2"),  # banned, timeout 600
    ("198.51.100.77", 5061, "udp", Decision.DROP, "rule 2"),  # banned, timeout 0
    ("198.51.100.77", 5061, "tcp", Decision.DROP, "policy"),  # the ban is udp only
    ("192.0.2.66", 5060, "udp", Decision.DROP, "rule 1"),  # list:set member hash:ip
    ("192.0.2.111", 22, "tcp", Decision.DROP, "rule 1"),  # list:set member hash:net /31
    ("192.0.2.50", 5061, "tcp", Decision.ACCEPT, "rule 3"),  # hash:ip,port src,dst
    ("192.0.2.50", 5061, "udp", Decision.DROP, "policy"),  # the pair is tcp:5061
    ("198.51.100.7", 5060, "udp", Decision.ACCEPT, "rule 4"),  # hash:net
    ("198.51.100.201", 5060, "udp", Decision.DROP, "policy"),  # nomatch exception
    ("198.51.100.201", 15000, "udp", Decision.DROP, "rule 6"),  # ! --match-set, nomatch
    ("198.51.100.9", 15000, "udp", Decision.ACCEPT, "rule 7"),
    ("192.0.2.9", 10049, "udp", Decision.ACCEPT, "rule 5"),  # bitmap:port dst
    ("2001:db8:5060::1", 5061, "tcp", Decision.ACCEPT, "rule 3"),  # inet6 set, nft side
    ("2001:db8:6::1", 5061, "tcp", Decision.DROP, "policy"),
])
def test_listed_addresses_are_decided(src: str, port: int, proto: str, decision: Decision,
                                      rule: str) -> None:
    verdict = engine().evaluate(Probe(src, port, proto=proto,
                                      dst="2001:db8:1::1" if ":" in src else PBX, iif="wan0"))
    assert verdict.decision is decision, verdict.summary()
    assert verdict.deciding is not None
    assert rule in verdict.deciding.label


def test_ban_set_with_timeouts_is_named_as_a_snapshot() -> None:
    verdict = engine().evaluate(Probe("203.0.113.66", 5060, dst=PBX, iif="wan0"))
    assert any("ipset f2b-asterisk is filled at run time" in n for n in verdict.notes)


def test_without_ipset_save_the_match_depends_on_the_named_ipset() -> None:
    verdict = engine(with_ipsets=False).evaluate(Probe("203.0.113.66", 5060, dst=PBX,
                                                       iif="wan0"))
    assert verdict.decision is Decision.DEPENDS
    lines = verdict.unknown_lines()
    assert any("--match-set blocked src" in line and "ipset save" in line for line in lines)


def test_ipset_save_given_among_iptables_saves_is_recognised() -> None:
    ruleset = load_files(FIX / "ipsets.json", [FIX / "ipsets.legacy-save",
                                               FIX / "ipsets.ipset-save"])
    verdict = Engine(ruleset).evaluate(Probe("203.0.113.66", 5060, dst=PBX, iif="wan0"))
    assert verdict.decision is Decision.DROP


@pytest.mark.parametrize("text", ["add f2b 192.0.2.1\n", "create s hash:ip\nbogus line\n",
                                  'create s hash:ip\nadd s "unterminated\n'])
def test_malformed_ipset_save_is_an_operator_error(text: str) -> None:
    with pytest.raises(OperatorError):
        parse_ipset_save(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030), max_size=40))
def test_the_fast_split_agrees_with_shlex_wherever_it_is_taken(line: str) -> None:
    """parse_ipset_save splits plain lines with str.split(): only where shlex says the same."""
    if _PLAIN.fullmatch(line):
        assert line.split() == shlex.split(line)


def test_a_quoted_comment_still_goes_through_shlex() -> None:
    sets = parse_ipset_save('create b hash:ip family inet comment\n'
                            'add b 192.0.2.7 comment "provider \\"x\\" 1"\n'
                            "add b 192.0.2.8 comment 'two words' nomatch\n")
    assert (sets["b"].elements, sets["b"].nomatch) == (["192.0.2.7"], ["192.0.2.8"])
