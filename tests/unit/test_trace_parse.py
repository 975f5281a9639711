"""`nft monitor trace` text (recorded from nft 1.0.6 tracing the lab carrier's INVITEs
through fail2ban's table) read into packets and the rule that decided each."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.changes.trace import TraceSpec
from trunkconsole.net.trace import parse_trace

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "net" / "bans" / \
    "nft-1.0.6-monitor-trace-fail2ban.txt"


def test_recorded_trace_of_a_banned_carrier() -> None:
    packets = parse_trace(RECORDED.read_text().splitlines())
    assert len(packets) == 2
    first = packets[0]
    assert first.describe() == "udp 203.0.113.12:5061 -> 203.0.113.1:5060 on eth0"
    decided = first.deciding("tc_trace_x")
    assert decided is not None
    assert decided.label() == "inet f2b-table f2b-chain #7"
    assert first.dropped
    assert first.fate("tc_trace_x").startswith(
        "dropped by inet f2b-table f2b-chain #7: udp dport { 5060, 5061 } ip saddr "
        "@addr-set-asterisk-udp reject with icmp port-unreachable (verdict drop)")


def test_an_accept_goes_on_to_the_next_base_chain_a_drop_ends_it() -> None:
    lines = [
        "trace id aa inet t1 pre packet: iif \"eth0\" ip saddr 192.0.2.5 ip daddr 192.0.2.1 "
        "ip protocol udp udp sport 5060 udp dport 5060",
        "trace id aa inet t1 pre rule ip saddr 192.0.2.5 accept # handle 3 (verdict accept)",
        "trace id aa ip blocklist in rule ip saddr 192.0.2.0/24 drop # handle 9 "
        "(verdict drop)",
        "trace id bb inet t1 pre packet: iif \"eth0\" ip6 saddr 2001:db8::5 ip6 daddr "
        "2001:db8::1 udp sport 5060 udp dport 5060",
        "trace id bb inet t1 pre policy accept",
        "garbage that is not a trace line",
    ]
    first, second = parse_trace(lines)
    assert first.fate().startswith("dropped by ip blocklist in #9")
    assert second.fate() == "accepted by inet t1 pre policy: policy accept"
    assert second.describe() == "udp [2001:db8::5]:5060 -> [2001:db8::1]:5060 on eth0"


def test_trace_rules() -> None:
    assert TraceSpec("203.0.113.12", "udp", 5060).rule() == \
        "ip saddr 203.0.113.12 udp dport 5060 meta nftrace set 1"
    assert TraceSpec("2001:db8::7", "tcp").rule() == \
        "ip6 saddr 2001:db8::7 meta l4proto tcp meta nftrace set 1"
    assert TraceSpec("198.51.100.7").rule() == "ip saddr 198.51.100.7 meta nftrace set 1"


NO_RULES = Path(__file__).resolve().parents[1] / "fixtures" / "net" / \
    "nft-monitor-trace-no-other-rules.txt"


def test_a_packet_that_meets_no_rule_but_ours_arrived_and_was_accepted() -> None:
    """Recorded (nft 1.0.6) in a lab PBX namespace with no firewall rules: the carrier's
    INVITE, ACK and BYE meet only the trace table. They arrived; nothing dropped them."""
    from trunkconsole.net.trace import read_monitor

    table = "trunkconsole_trace_2efa7c9328c0"
    packets = read_monitor(5, count=1, ignore_table=table, command=["cat", str(NO_RULES)])
    assert [p.describe() for p in packets] == [
        "udp 203.0.113.10:5061 -> 203.0.113.1:5060 on eth0"] * 3
    assert [p.fate(table) for p in packets] == [
        "accepted (no rule or policy decided it in nftables)"] * 3
    assert not any(p.dropped for p in packets)
    # Beside the static verdict of the same (empty) ruleset: they agree.
    from trunkconsole.net.collect import Capture
    from trunkconsole.net.trace import compare

    empty = Capture(nft_json='{"nftables": [{"metainfo": {"json_schema_version": 1}}]}')
    result = compare(packets[0], empty.ruleset(), "203.0.113.10", None, None, table)
    assert result["static"] == "accepted by no base chain on the path"
    assert result["agrees"] is True
    assert result["path"] == []
