"""Listings streamed into the model: items reach the model as they arrive, trunks can be
read before the phones, and a half-read model never judges absence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trunkconsole.ami.live import identify_endpoints
from trunkconsole.ami.message import AmiMessage, parse_block
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.model.senders import SenderLog
from trunkconsole.model.state import IDENTIFIES, PbxState
from trunkconsole.model.views import trunk_summaries
from trunkconsole.pjsip.system import load_asterisk

NOW = 1795666500.0


def msg(text: str) -> AmiMessage:
    message = parse_block(text.replace("\n", "\r\n"))
    assert message is not None
    return message


def wire(*blocks: str) -> bytes:
    return "".join(b.replace("\n", "\r\n") + "\r\n\r\n" for b in blocks).encode()


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        pass


def _endpoint_item(name: str, action_id: str = "s1") -> str:
    return (f"Event: EndpointList\nActionID: {action_id}\nObjectType: endpoint\n"
            f"ObjectName: {name}\nTransport: \nAor: {name}\nAuths: {name}\nOutboundAuths: \n"
            "Contacts: \nDeviceState: Unavailable\nActiveChannels: 0")


async def test_streamed_items_reach_only_the_listener() -> None:
    """A streamed listing's items go to the model as they arrive, not into panoramisk's
    per-action list; its Complete event still ends the action (response + Complete)."""
    protocol = TrunkAmiProtocol()
    protocol.connection_made(_Transport())
    seen: list[AmiMessage] = []
    protocol.listener = seen.append
    protocol.factory = None  # no panoramisk manager: no unsolicited events here
    future: Any = protocol.send({"Action": "PJSIPShowEndpoints", "ActionID": "s1"}, as_list=None)
    protocol.streamed.add("s1")
    protocol.data_received(wire(
        "Response: Success\nActionID: s1\nEventList: start\nMessage: A listing follows"))
    protocol.data_received(wire(*(_endpoint_item(f"p{n}") for n in range(3))))
    assert [m.get("objectname") for m in seen[1:]] == ["p0", "p1", "p2"]
    assert not future.done()
    assert len(protocol.responses["s1"].responses) == 1  # only the response was kept
    protocol.data_received(wire(
        "Event: EndpointListComplete\nActionID: s1\nEventList: Complete\nListItems: 3"))
    reply = future.result()
    assert [m.get("Response") or m.get("Event") for m in reply] == [
        "Success", "EndpointListComplete"]
    assert len(seen) == 5


async def test_unstreamed_action_still_collects_its_items() -> None:
    protocol = TrunkAmiProtocol()
    protocol.connection_made(_Transport())
    protocol.listener = lambda _m: None
    protocol.factory = None
    future: Any = protocol.send({"Action": "PJSIPShowEndpoints", "ActionID": "a1"}, as_list=None)
    protocol.data_received(wire(
        "Response: Success\nActionID: a1\nEventList: start\nMessage: A listing follows",
        _endpoint_item("p1", "a1"),
        "Event: EndpointListComplete\nActionID: a1\nEventList: Complete\nListItems: 1"))
    assert [m.get("ObjectName") for m in future.result()] == [None, "p1", None]


def _trunk_detail(state: PbxState) -> None:
    """What PJSIPShowEndpoint carrier answers (read before the endpoint listing)."""
    for text in (
        "Event: EndpointDetail\nObjectType: endpoint\nObjectName: carrier\nAors: carrier\n"
        "Auth: \nOutboundAuth: \nContext: from-carrier\nDeviceState: Not in use",
        "Event: IdentifyDetail\nObjectType: identify\nObjectName: carrier\n"
        "Endpoint: carrier\nMatch: 203.0.113.10/255.255.255.255\nEndpointName: carrier",
        "Event: ContactStatusDetail\nAOR: carrier\nURI: sip:203.0.113.10:5060\n"
        "Status: Reachable\nRoundtripUsec: 1500\nEndpointName: carrier\nRegExpire: 0",
        "Event: EndpointDetailComplete\nEventList: Complete\nListItems: 4",
    ):
        state.apply(msg(text))


def test_trunk_rows_before_the_phone_listing_completes() -> None:
    """Registrations and the trunk's detail come first; halfway through the 10,000-phone
    listing the trunks are whole, and nothing counts as listed yet."""
    state = PbxState(clock=lambda: NOW)
    state.begin_sync("registrations")
    state.apply(msg("Event: OutboundRegistrationDetail\nObjectName: upstream-reg\n"
                    "ServerUri: sip:198.51.100.20\nClientUri: sip:me@198.51.100.20\n"
                    "Endpoint: upstream\nStatus: Registered\nNextReg: 300"))
    state.end_sync("registrations")
    _trunk_detail(state)
    state.begin_sync("endpoints")
    for n in range(500):  # part of the listing has arrived
        state.apply(msg(_endpoint_item(f"p{100000 + n}")))
    state.apply(msg("Event: EndpointList\nObjectName: upstream\nAor: upstream\nAuths: \n"
                    "OutboundAuths: upstream-auth\nContacts: \nDeviceState: Not in use"))
    rows = {t.name: t for t in trunk_summaries(state, NOW)}
    assert sorted(rows) == ["carrier", "upstream"]
    assert rows["carrier"].matches == ("203.0.113.10/32",)
    assert rows["carrier"].status == "Reachable"
    assert rows["upstream"].registration == "Registered"  # listed before its endpoint
    assert not state.listing_complete("endpoints")
    assert state.listing_complete("registrations")
    assert not state.listing_complete(IDENTIFIES)
    # The rest of the listing; the trunk read early is listed too and survives end_sync.
    state.apply(msg("Event: EndpointList\nObjectName: carrier\nAor: carrier\nAuths: \n"
                    "Contacts: carrier/sip:203.0.113.10:5060,\nDeviceState: Not in use"))
    state.end_sync("endpoints")
    assert state.listing_complete("endpoints")
    assert len(state.endpoints) == 502
    assert state.endpoints["carrier"].matches == ("203.0.113.10/32",)
    assert state.endpoints["upstream"].registrations == {"upstream-reg"}


def test_a_registration_dropped_by_a_resync_leaves_its_endpoint() -> None:
    state = PbxState(clock=lambda: NOW)
    state.apply(msg("Event: OutboundRegistrationDetail\nObjectName: r1\nEndpoint: upstream\n"
                    "Status: Registered"))
    state.begin_sync("registrations")
    state.end_sync("registrations")  # the registration is gone from pjsip.conf
    state.apply(msg("Event: EndpointList\nObjectName: upstream\nAor: upstream\nAuths: x\n"
                    "Contacts: \nDeviceState: Not in use"))
    assert not state.endpoints["upstream"].registrations
    assert not state.endpoints["upstream"].is_trunk


def test_half_read_identifies_never_make_a_sender_unknown(tmp_path: Path) -> None:
    """A sender `watch` recorded, that the config's identify covers: while the live
    identifies are still being read it is not shown as unknown; once they are all read,
    the live state decides (an identify not loaded in Asterisk does not match)."""
    (tmp_path / "pjsip.conf").write_text(
        "[carrier]\ntype=endpoint\ncontext=from-carrier\naors=carrier\n\n"
        "[carrier]\ntype=aor\ncontact=sip:203.0.113.10:5060\n\n"
        "[carrier]\ntype=identify\nendpoint=carrier\nmatch=203.0.113.10,203.0.113.12\n")
    config = load_asterisk(tmp_path)
    journal = SenderLog()
    journal.record(msg("Event: InvalidAccountID\nService: PJSIP\nAccountID: 0612345678\n"
                       "SessionID: abc\nRemoteAddress: IPV4/UDP/203.0.113.12/5060"), NOW - 60)
    assert "203.0.113.12" in journal.by_address
    state = PbxState(clock=lambda: NOW)
    state.begin_sync("endpoints")
    state.apply(msg(_endpoint_item("p100000")))  # the listing has begun, no trunk read yet

    def unknown() -> list[str]:
        ev = Evidence(state=state, config=config, journal_senders=journal, now=NOW)
        return [s.address for s in ev.unknown_senders()]

    assert unknown() == []
    state.end_sync("endpoints")
    state.mark_listed(IDENTIFIES)
    assert unknown() == ["203.0.113.12"]
    _trunk_detail(state)  # Asterisk's identify of .10 only: still unknown
    assert unknown() == ["203.0.113.12"]


def test_identify_endpoints_from_the_cli_listing() -> None:
    """`pjsip show identifies` as the lab's Asterisk 22 printed it over AMI (Output
    lines), plus a second identify of another endpoint; the header line is no endpoint."""
    lines = ["", "Identify:  <Identify/Endpoint...........................................>",
             "Match:  <criteria...........................>",
             "==========================================================================",
             "", "Identify:  carrier/carrier", "Match: 203.0.113.10/32", "",
             "Identify:  backup-ips/backup", "Match: 198.51.100.0/24", "",
             "Match: 198.51.100.7/32", "", "Objects found: 2", ""]
    assert identify_endpoints(lines) == ["carrier", "backup"]
    assert identify_endpoints(["No objects found.", ""]) == []
