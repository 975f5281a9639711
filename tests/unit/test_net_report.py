"""Provider report and host cross-checks on hand-made inputs (no root, no live host)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trunkconsole.net.collect import load_files
from trunkconsole.net.helper import helper_state
from trunkconsole.net.host import HostAddress, HostFacts, RouteFact
from trunkconsole.net.inputs import NetworkInputs, ProviderAddress, Transport
from trunkconsole.net.report import build_report
from trunkconsole.net.sockets import ListeningSocket, decode_address, parse_proc_net
from trunkconsole.net.verdict import Decision

FIX = Path(__file__).parent.parent / "fixtures" / "net"
UDP = Transport("transport-udp", "udp", "0.0.0.0", 5060, location="pjsip.conf:3")


def test_report_names_the_rule_that_drops_rtp_and_suggests_a_rule() -> None:
    inputs = NetworkInputs((ProviderAddress("carrier-a", "198.51.100.7"),
                            ProviderAddress("carrier-b", "192.0.2.110")), (UDP,), 10000, 20000)
    report = build_report(inputs, load_files(FIX / "native.json", []), None, None)
    rows = {r.address.provider: r for r in report.rows}
    assert rows["carrier-a"].sip["transport-udp"].decision is Decision.ACCEPT
    assert rows["carrier-a"].rtp is not None
    assert rows["carrier-a"].rtp.decision is Decision.ACCEPT
    rtp = [f for f in report.findings if f.code == "network-rtp-blocked"]
    assert len(rtp) == 1
    assert "10050-20000 dropped by inet pbx input #20" in rtp[0].title
    assert rtp[0].fix.startswith(
        "nft insert rule inet pbx input position 20 ip saddr 192.0.2.110 udp dport "
        "10050-20000 accept")


def test_network_identify_is_evaluated_for_its_first_host() -> None:
    address = ProviderAddress("carrier", "203.0.113.0/24")
    assert address.probe_address() == "203.0.113.1"
    assert ProviderAddress("carrier", "sip.example.net").probe_address() is None


def test_host_cross_checks() -> None:
    transport = Transport("t", "udp", "192.0.2.99", 5060, local_nets=("0.0.0.0/0",))
    host = HostFacts(
        interfaces=["eth0"],
        addresses=[HostAddress("eth0", "10.1.2.3", 24), HostAddress("eth0", "2001:db8::5", 64,
                                                                    tentative=True)],
        routes={"198.51.100.7": RouteFact("198.51.100.7", "eth0", "10.1.2.3", "10.1.2.1")},
        sockets=[ListeningSocket("udp", "0.0.0.0", 5080, 1, 10, "kamailio")],
    )
    inputs = NetworkInputs((ProviderAddress("carrier", "198.51.100.7"),), (transport,))
    codes = {f.code for f in build_report(inputs, None, host, None).findings}
    assert {"network-bind-not-local", "network-not-listening", "network-address-dad",
            "network-provider-in-local-net", "network-nat-no-external-media"} <= codes


def test_proc_net_parsing() -> None:
    text = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            "timeout inode\n"
            "   1: 0100007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000  0 "
            "0 4242 2 0000000000000000 0\n"
            "   2: 00000000:13C5 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  0 "
            "0 4243 2 0000000000000000 0\n")
    sockets = parse_proc_net(text, "udp")
    assert sockets == [ListeningSocket("udp", "127.0.0.1", 5060, 4242)]
    assert decode_address("00000000000000000000000001000000") == "::1"


def test_sip_helper_is_found_in_firewalld_rules(tmp_path: Path) -> None:
    state = helper_state(load_files(FIX / "firewalld.json", []), sys_dir=tmp_path / "none",
                         expect_path=tmp_path / "none")
    assert state.active
    assert any("filter_IN_public_allow" in rule for rule in state.assigned_by)
    assert "related" in state.explain()


def test_core_never_imports_textual() -> None:
    code = ("import sys, trunkconsole.cli.firewall, trunkconsole.net.gather, "
            "trunkconsole.net.engine, trunkconsole.net.sandbox; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
