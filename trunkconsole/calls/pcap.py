"""Export calls from PJSIP's history as a pcap that Wireshark opens (Telephony > SIP Flows).

The file format is written by scapy (imported here, only when an export runs: importing
it costs far more than the console's start-up). Each message becomes one Ethernet/IP/UDP
packet between the provider's real address and port (the history records the peer) and
ours (from the Via we sent, else the Request-URI we received; see CallFlow.local).

Facts the reader should know, and the file says in its comment:
- UDP is written whatever the transport was: TLS is why the history is needed at all, and
  Wireshark's SIP dissector reads the messages in clear; the Via keeps the real transport.
- The history has whole-second timestamps; messages within one second are spaced 1 ms
  apart, in history order, so Wireshark shows them in the right order.
- The message is the one pjsip printed (not the raw bytes): CRLF and a single
  Content-Length are restored (calls/sip.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from trunkconsole.calls.ladder import CallFlow
from trunkconsole.errors import OperatorError

PEER_MAC = "02:00:00:00:00:01"  # locally administered: no real vendor
PBX_MAC = "02:00:00:00:00:02"
STEP = 0.001
FALLBACK_LOCAL = "0.0.0.0:5060"


def split_hostport(value: str) -> tuple[str, int]:
    """`203.0.113.10:5060` or `[2001:db8::1]:5060` -> (host, port); port 5060 if absent."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, sep, port = value.rpartition(":")
        if not sep or ":" in host:  # bare IPv6 or no port
            host, port = value, ""
    return host, int(port) if port.isdigit() else 5060


def _address(value: str, what: str) -> tuple[str, int]:
    host, port = split_hostport(value)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise OperatorError(f"cannot write the {what} address {value!r} into a pcap",
                            evidence="it is not an IP address") from None


def write_pcap(flows: Iterable[CallFlow], path: Path) -> int:
    """Write the calls' messages to path (atomically); return the number of packets."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Packet, Raw
    from scapy.utils import PcapWriter

    packets: list[tuple[int, float, Packet]] = []
    for flow in flows:
        peer_ip, peer_port = _address(flow.peer, "provider")
        local_ip, local_port = _address(flow.local or FALLBACK_LOCAL, "PBX")
        if ipaddress.ip_address(peer_ip).version != ipaddress.ip_address(local_ip).version:
            local_ip = "::" if ":" in peer_ip else "0.0.0.0"
        for rung in flow.rungs:
            src, dst = ((peer_ip, peer_port), (local_ip, local_port)) if rung.from_peer \
                else ((local_ip, local_port), (peer_ip, peer_port))
            layer = IPv6(src=src[0], dst=dst[0]) if ":" in src[0] else IP(src=src[0],
                                                                           dst=dst[0])
            macs = (PEER_MAC, PBX_MAC) if rung.from_peer else (PBX_MAC, PEER_MAC)
            packet: Packet = (Ether(src=macs[0], dst=macs[1]) / layer
                      / UDP(sport=src[1], dport=dst[1]) / Raw(load=rung.sip.wire_bytes()))
            packets.append((rung.message.number, float(rung.message.timestamp), packet))
    if not packets:
        raise OperatorError("no SIP messages to export", fix="choose calls that have messages")
    packets.sort(key=lambda item: item[0])
    tmp = path.with_name(path.name + ".tmp")
    last = -1.0
    with PcapWriter(str(tmp), linktype=1, sync=False) as writer:
        for _number, stamp, packet in packets:
            last = max(stamp, last + STEP)
            packet.time = last
            writer.write(packet)
    tmp.replace(path)
    return len(packets)
