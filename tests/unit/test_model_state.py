"""PbxState fed with a stream recorded from the lab's Asterisk 22 and with crafted events."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.ami.message import AmiMessage, parse_block, parse_stream
from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.model.keys import CHANNEL, CONTACT, ENDPOINT, SENDER
from trunkconsole.model.snapshot import snapshot
from trunkconsole.model.state import PbxState
from trunkconsole.model.views import trunk_summary

RECORDED = Path(__file__).parent.parent / "fixtures" / "ami" / "lab-calls.raw"


def msg(text: str) -> AmiMessage:
    message = parse_block(text.replace("\n", "\r\n"))
    assert message is not None
    return message


def fed(now: float = 1795666500.0) -> PbxState:
    state = PbxState(clock=lambda: now)
    for message in parse_stream(RECORDED.read_bytes()):
        state.apply(message)
    return state


def test_recorded_stream_builds_the_trunk() -> None:
    state = fed()
    carrier = state.endpoints["carrier"]
    assert carrier.is_trunk
    assert carrier.matches == ("203.0.113.10/32",)
    assert carrier.device_state == "Not in use"
    [contact] = state.contacts_of(carrier)
    assert contact.uri == "sip:203.0.113.10:5060"
    assert contact.status == "Reachable"
    assert contact.rtt_usec
    assert not state.channels  # all three calls hung up
    assert len(state.hangups) == 3
    assert carrier.last_hangup is not None
    assert carrier.last_hangup.did == "15551230001"
    assert carrier.last_hangup.caller_name == "Renée [red]x[/b]"  # kept literally


def test_recorded_unknown_sender_counted_once_per_request() -> None:
    state = fed()
    sender = state.senders.by_address["203.0.113.11"]
    assert sender.count == 3  # InvalidAccountID + ChallengeSent per INVITE, same Call-ID
    assert sender.account == "4471"
    assert sender.transport == "UDP"
    assert "127.0.0.1" not in state.senders.by_address  # AMI's own SuccessfulAuth


def test_call_appears_and_disappears_with_changed_keys() -> None:
    state = PbxState(clock=lambda: 1000.0)
    state.apply(msg("Event: EndpointList\nObjectName: prov\nAor: prov\nAuths: \n"
                    "OutboundAuths: \nContacts: prov/sip:203.0.113.10:5060,\n"
                    "DeviceState: Not in use"))
    changed = state.apply(msg(
        "Event: Newchannel\nChannel: PJSIP/prov-00000001\nChannelState: 4\n"
        "ChannelStateDesc: Ring\nCallerIDNum: 0612\nCallerIDName: [/b]\nContext: in\n"
        "Exten: 15551230001\nUniqueid: 990.1\nLinkedid: 990.1"))
    assert changed == {(CHANNEL, "990.1"), (ENDPOINT, "prov")}
    channel = state.channels["990.1"]
    assert channel.inbound
    assert channel.did == "15551230001"
    assert channel.caller_name == "[/b]"
    assert channel.duration(1000.0) == 10.0  # Uniqueid carries the creation time
    summary = trunk_summary(state, state.endpoints["prov"], 1000.0)
    assert summary.calls_now == 1
    assert summary.calls_last_hour == 1
    state.apply(msg("Event: HangupRequest\nUniqueid: 990.1\nTechCause: 403"))
    changed = state.apply(msg("Event: Hangup\nChannel: PJSIP/prov-00000001\n"
                              "Uniqueid: 990.1\nCause: 21\nCause-txt: Call Rejected"))
    assert (CHANNEL, "990.1") in changed
    assert (ENDPOINT, "prov") in changed
    assert not state.channels
    hangup = state.endpoints["prov"].last_hangup
    assert hangup is not None
    assert hangup.describe() == "21 Call Rejected (SIP 403)"
    assert trunk_summary(state, state.endpoints["prov"], 1000.0).calls_last_hour == 1
    assert trunk_summary(state, state.endpoints["prov"], 5000.0).calls_last_hour == 0


def test_device_state_spellings_agree() -> None:
    state = PbxState()
    state.apply(msg("Event: EndpointList\nObjectName: p\nDeviceState: In use"))
    assert state.endpoints["p"].device_state == "In use"
    state.apply(msg("Event: DeviceStateChange\nDevice: PJSIP/p\nState: NOT_INUSE"))
    assert state.endpoints["p"].device_state == "Not in use"
    state.apply(msg("Event: DeviceStateChange\nDevice: PJSIP/p\nState: RINGINUSE"))
    assert state.endpoints["p"].device_state == "Ring+Inuse"


def test_contact_status_rtt_history_and_removal() -> None:
    state = PbxState()
    state.apply(msg("Event: EndpointList\nObjectName: p\nAor: p\nContacts: p/sip:a,"))
    for rtt in ("1000", "2000"):
        changed = state.apply(msg("Event: ContactStatus\nURI: sip:a\nContactStatus: Reachable\n"
                                  f"AOR: p\nEndpointName: p\nRoundtripUsec: {rtt}"))
    assert (CONTACT, "p/sip:a") in changed
    contact = state.contacts["p/sip:a"]
    assert list(contact.rtt_history) == [1.0, 2.0]
    assert contact.rtt_ms == 2.0
    state.apply(msg("Event: ContactStatus\nURI: sip:a\nContactStatus: Unreachable\nAOR: p\n"
                    "EndpointName: p\nRoundtripUsec: 0"))
    assert contact.status == "Unreachable"
    assert contact.rtt_usec is None
    assert [f.code for f in diagnose(Evidence(state=state, now=0.0))] == ["trunk-unreachable"]
    state.apply(msg("Event: ContactStatus\nURI: sip:a\nContactStatus: Removed\nAOR: p\n"
                    "EndpointName: p\nRoundtripUsec: 0"))
    assert not state.contacts_of(state.endpoints["p"])


def test_resync_drops_what_the_listing_no_longer_has() -> None:
    """After an Asterisk restart: ghost channels and deleted endpoints must go."""
    state = PbxState()
    state.apply(msg("Event: EndpointList\nObjectName: old\nAor: old\nContacts: old/sip:o,"))
    state.apply(msg("Event: EndpointList\nObjectName: kept\nAor: kept"))
    state.apply(msg("Event: Newchannel\nChannel: PJSIP/kept-1\nUniqueid: 5.1\nChannelState: 6"))
    state.take_changes()
    state.begin_sync("endpoints")
    state.apply(msg("Event: EndpointList\nObjectName: kept\nAor: kept"))
    state.end_sync("endpoints")
    state.begin_sync("channels")
    state.end_sync("channels")  # CoreShowChannels listed none: the channel died meanwhile
    assert set(state.endpoints) == {"kept"}
    assert not state.channels
    assert not state.endpoints["kept"].channels
    assert not state.contacts  # the contact of the deleted endpoint's AOR went with it
    assert {(ENDPOINT, "old"), (CHANNEL, "5.1"), (CONTACT, "old/sip:o")} <= state.take_changes()


def test_event_during_resync_survives_it() -> None:
    state = PbxState()
    state.begin_sync("channels")
    state.apply(msg("Event: Newchannel\nChannel: PJSIP/x-1\nUniqueid: 7.1\nChannelState: 4"))
    state.end_sync("channels")
    assert "7.1" in state.channels


def test_detail_replaces_identifies_and_prunes_contacts() -> None:
    state = PbxState()
    state.apply(msg("Event: EndpointList\nObjectName: t\nAor: t\nAuths: \n"
                    "Contacts: t/sip:a,\nContacts: t/sip:b,"))
    state.apply(msg("Event: EndpointDetail\nObjectName: t\nAors: t\nAuth: \nOutboundAuth: "))
    state.apply(msg("Event: IdentifyDetail\nObjectName: t-id\nEndpoint: t\n"
                    "Match: 203.0.113.10/255.255.255.255,198.51.100.0/255.255.255.0"))
    state.apply(msg("Event: ContactStatusDetail\nAOR: t\nURI: sip:a\nStatus: Reachable\n"
                    "RoundtripUsec: 800\nEndpointName: t\nRegExpire: 0"))
    state.apply(msg("Event: EndpointDetailComplete\nEventList: Complete\nListItems: 3"))
    endpoint = state.endpoints["t"]
    assert endpoint.matches == ("203.0.113.10/32", "198.51.100.0/24")
    assert [c.uri for c in state.contacts_of(endpoint)] == ["sip:a"]
    assert endpoint.detail_loaded
    assert endpoint.is_trunk


def test_registry_updates_the_registration() -> None:
    state = PbxState(clock=lambda: 50.0)
    state.apply(msg("Event: EndpointList\nObjectName: prov\nOutboundAuths: prov-auth"))
    state.apply(msg("Event: OutboundRegistrationDetail\nObjectName: prov-reg\n"
                    "ServerUri: sip:p.example\nClientUri: sip:1@p.example\nEndpoint: prov\n"
                    "Status: Registered\nNextReg: 300"))
    assert state.endpoints["prov"].is_trunk
    state.apply(msg("Event: Registry\nChannelType: PJSIP\nUsername: sip:1@p.example\n"
                    "Domain: sip:p.example\nStatus: Rejected"))
    assert state.registrations["prov-reg"].status == "Rejected"
    assert "registration-failing" in [f.code for f in diagnose(Evidence(state=state, now=50.0))]


def test_security_events_from_known_phones_are_not_unknown_senders() -> None:
    state = PbxState()
    changed = state.apply(msg("Event: ChallengeSent\nService: PJSIP\nAccountID: 1001\n"
                              "SessionID: c1\nRemoteAddress: IPV4/UDP/192.0.2.5/5060"))
    assert not changed
    assert not state.senders.by_address
    changed = state.apply(msg("Event: ChallengeSent\nService: PJSIP\nAccountID: <unknown>\n"
                              "SessionID: c2\nRemoteAddress: IPV6/TCP/2001:db8::5/5060"))
    assert changed == {(SENDER, "2001:db8::5")}


def test_snapshot_is_plain_data() -> None:
    data = snapshot(fed(), 1795666500.0)
    assert [e["name"] for e in data["endpoints"]] == ["carrier"]
    assert data["endpoints"][0]["identify_matches"] == ["203.0.113.10/32"]
    assert data["unknown_senders"][0]["address"] == "203.0.113.11"
    assert data["channels"] == []


IDENTIFY_DETAIL = ("Event: IdentifyDetail\nActionID: detail\nObjectType: identify\n"
                   "ObjectName: carrier\nMatch: {match}\nMatchRequestUri: \nSrvLookups: true\n"
                   "Endpoint: carrier\nMatchHeader: \nEndpointName: carrier")


def test_a_sender_an_identify_now_matches_is_no_longer_unknown() -> None:
    """The recorded stream's unknown 203.0.113.11; Asterisk then shows the carrier's identify
    with it (ast_ha_join's dotted masks, as after `identify add` and a reload)."""
    state = fed()
    state.take_changes()
    assert "203.0.113.11" in state.senders.by_address
    # An identify that does not cover it changes nothing about the sender.
    state.apply(msg(IDENTIFY_DETAIL.format(match="203.0.113.10/255.255.255.255")))
    assert "203.0.113.11" in state.senders.by_address
    assert not state.senders.resolved
    changed = state.apply(msg(IDENTIFY_DETAIL.format(
        match="203.0.113.10/255.255.255.255,203.0.113.8/255.255.255.252")))
    assert (SENDER, "203.0.113.11") in changed  # the dashboard's sender table redraws
    assert not state.senders.by_address
    resolved = state.senders.resolved["203.0.113.11"]
    assert (resolved.identify, resolved.endpoint, resolved.sender.count) == (
        "carrier", "carrier", 3)
    data = snapshot(state, 1795666500.0)
    assert data["unknown_senders"] == []
    assert data["resolved_senders"][0]["address"] == "203.0.113.11"
    assert not [f for f in diagnose(Evidence(state=state)) if f.code == "unknown-sender"]
    # Refused again later (identify removed): unknown once more, no longer "resolved".
    for message in parse_stream(RECORDED.read_bytes()):
        if message.fields.get("event") == "InvalidAccountID":
            state.apply(message)
    assert "203.0.113.11" in state.senders.by_address
    assert "203.0.113.11" not in state.senders.resolved


def test_identify_with_port_or_ipv6_resolves_only_what_it_matches() -> None:
    state = PbxState(clock=lambda: 10.0)
    state.apply(msg("Event: EndpointDetail\nObjectName: carrier\nAors: carrier\nAuth: \n"
                    "OutboundAuth: \nContext: from-carrier\nDeviceState: Not in use"))
    for address in ("203.0.113.12", "2001:db8::12", "198.51.100.7"):
        proto = "IPV6" if ":" in address else "IPV4"
        state.apply(msg(f"Event: InvalidAccountID\nService: PJSIP\nAccountID: 100\n"
                        f"SessionID: {address}\nRemoteAddress: {proto}/UDP/{address}/5060"))
    assert len(state.senders.by_address) == 3
    state.apply(msg(IDENTIFY_DETAIL.format(
        match="203.0.113.12:5060/255.255.255.255,2001:db8::/ffff:ffff::")))
    assert sorted(state.senders.resolved) == ["2001:db8::12", "203.0.113.12"]
    assert list(state.senders.by_address) == ["198.51.100.7"]
