"""NAT and SIP ALG from the history: what the messages say about addresses vs the packets.

The history records each message with the peer's real address (res_pjsip_history.c), so
for every message from the provider the packet source is known, and for every message we
sent the provider's own Via received=/rport= (RFC 3261 §18.2.1, RFC 3581) tells where our
packets came from as the provider saw them. What the PJSIP options do about it:
- force_rport (default yes): answer to the source port, not the Via's;
- rewrite_contact: use the packet source instead of the provider's Contact for the dialog;
- rtp_symmetric: send RTP back to where the provider's RTP comes from, not to its c=;
- external_signaling_address / external_media_address + local_net (transport): put our
  public address in Via/Contact and SDP for peers outside local_net.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from trunkconsole.calls.ladder import CallFlow, Rung
from trunkconsole.calls.pcap import split_hostport
from trunkconsole.calls.sdp import parse_sdp
from trunkconsole.calls.sip import ParsedSip, uri_hostport, uri_of
from trunkconsole.nat_ranges import in_private_range


def is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return in_private_range(ip)


@dataclass(frozen=True)
class NatFinding:
    """One address that does not agree with the packets, and what to set."""

    code: str  # provider-behind-nat | our-private-address | nat-rewrites-us | alg
    text: str
    fix: str


def analyse(flow: CallFlow) -> list[NatFinding]:
    """Findings for one call (each kind once)."""
    found: dict[str, NatFinding] = {}
    for rung in flow.rungs:
        source_host, source_port = split_hostport(rung.message.address)
        sip = rung.sip
        if rung.from_peer:
            _from_provider(found, sip, source_host, source_port, rung)
        else:
            _from_us(found, sip)
        if not rung.from_peer or sip.is_request:
            continue
        via = sip.top_via  # a response to our request: the provider's view of us
        if via is not None and via.received and via.received != via.host \
                and not is_private(via.received):
            found.setdefault("nat-rewrites-us", NatFinding(
                "nat-rewrites-us",
                f"the provider sees our packets from {via.received}"
                f"{':' + via.rport if via.rport else ''}, our Via says {via.host}",
                f"put {via.received} in external_signaling_address and "
                "external_media_address of the transport, with local_net for the LAN"))
    return list(found.values())


def _from_provider(found: dict[str, NatFinding], sip: ParsedSip, source_host: str,
                   source_port: int, rung: Rung) -> None:
    via = sip.top_via if sip.is_request else None  # a response's Via is our own
    behind = via is not None and via.host != source_host and is_private(via.host)
    if behind and via is not None:
        found.setdefault("provider-behind-nat", NatFinding(
            "provider-behind-nat",
            f"the provider's Via says {via.host}:{via.port or 5060} but its packets come "
            f"from {source_host}:{source_port}: it is behind NAT",
            "force_rport=yes (the default) answers to the source; rewrite_contact=yes "
            "uses the source instead of its Contact; rtp_symmetric=yes for its RTP"))
    contact_host, _port = uri_hostport(uri_of(sip.get("contact")))
    if contact_host and contact_host != source_host and is_private(contact_host):
        found.setdefault("provider-private-contact", NatFinding(
            "provider-private-contact",
            f"the provider's Contact is {contact_host}, a private address; its packets "
            f"come from {source_host}",
            "rewrite_contact=yes on the endpoint (in-dialog requests then go to the source)"))
    audio = rung.sdp.audio if rung.sdp is not None else None
    if audio is not None and audio.address and audio.address != source_host \
            and is_private(audio.address):
        found.setdefault("provider-private-sdp", NatFinding(
            "provider-private-sdp",
            f"the provider's SDP says to send RTP to {audio.address}:{audio.port}, a private "
            f"address; its SIP comes from {source_host}",
            "rtp_symmetric=yes on the endpoint: Asterisk then sends RTP to where the "
            "provider's RTP comes from (and direct_media=no)"))
    if via is not None and is_private(via.host) and audio is not None and \
            audio.address == source_host:
        found.setdefault("alg", NatFinding(
            "alg",
            f"the provider's SDP has the public {audio.address} while its Via keeps the "
            f"private {via.host}: something on the path rewrote the body (a SIP ALG)",
            "switch off the SIP ALG (\"SIP helper\") on the routers between you; keep "
            "rtp_symmetric=yes and rewrite_contact=yes"))


def _from_us(found: dict[str, NatFinding], sip: ParsedSip) -> None:
    places = []
    via = sip.top_via
    if sip.is_request and via is not None and is_private(via.host):
        places.append(f"Via {via.host}")
    contact_host, _port = uri_hostport(uri_of(sip.get("contact")))
    if contact_host and is_private(contact_host):
        places.append(f"Contact {contact_host}")
    if "v=0" in sip.body:
        sdp = parse_sdp(sip.body)
        audio = sdp.audio if sdp is not None else None
        if audio is not None and is_private(audio.address):
            places.append(f"SDP c= {audio.address}")
    if places:
        found.setdefault("our-private-address", NatFinding(
            "our-private-address",
            "our private address goes out to the provider: " + ", ".join(places),
            "set external_signaling_address and external_media_address (our public "
            "address) and local_net (the LAN) on the transport"))
