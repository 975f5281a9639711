"""A channel's direction, from its Newchannel or (joined mid-call) from its snapshot."""

from __future__ import annotations

from trunkconsole.ami.message import AmiMessage
from trunkconsole.model.state import PbxState

# CoreShowChannel as Asterisk 22 sends it (reference §2.1-2.2): the carrier's inbound
# call running Echo, and the leg Dial created towards the carrier for a phone's call.
INBOUND = {"event": "CoreShowChannel", "channel": "PJSIP/carrier-00000007",
           "channelstate": "6", "channelstatedesc": "Up", "calleridnum": "15557770000",
           "context": "inbound-provider", "exten": "15551230002", "priority": "3",
           "uniqueid": "1795697181.14", "linkedid": "1795697181.14",
           "application": "Echo", "applicationdata": "", "duration": "00:00:09"}
OUTBOUND = {"event": "CoreShowChannel", "channel": "PJSIP/carrier-00000009",
            "channelstate": "6", "channelstatedesc": "Up", "calleridnum": "1001",
            "context": "outbound", "exten": "15550001234", "priority": "1",
            "uniqueid": "1795697190.17", "linkedid": "1795697190.16",
            "application": "AppDial", "applicationdata": "(Outgoing Line)",
            "duration": "00:00:04"}


def apply(state: PbxState, fields: dict[str, str]) -> None:
    state.apply(AmiMessage(fields))


def test_newchannel_in_ring_is_inbound_in_down_is_outbound() -> None:
    state = PbxState()
    apply(state, {**INBOUND, "event": "Newchannel", "channelstate": "4"})
    apply(state, {**OUTBOUND, "event": "Newchannel", "channelstate": "0"})
    assert state.channels["1795697181.14"].inbound
    assert not state.channels["1795697190.17"].inbound
    assert state.channels["1795697181.14"].direction_basis == "seen from its start"
    apply(state, {**OUTBOUND, "application": "Echo", "linkedid": "1795697190.17"})
    assert not state.channels["1795697190.17"].inbound  # Newchannel said so: kept


def test_joined_mid_call_reads_the_snapshot() -> None:
    state = PbxState()
    apply(state, INBOUND)
    apply(state, OUTBOUND)
    inbound, outbound = state.channels["1795697181.14"], state.channels["1795697190.17"]
    assert inbound.inbound
    assert inbound.direction_basis.startswith("joined mid-call, the channel that began")
    assert not outbound.inbound
    assert outbound.direction_basis == "joined mid-call, AppDial (Outgoing Line)"


def test_originate_leg_while_ringing_and_a_dialled_leg_seen_first_by_newstate() -> None:
    state = PbxState()
    apply(state, {**OUTBOUND, "uniqueid": "5.1", "linkedid": "5.1", "application":
                  "AppDial2", "channelstate": "5"})
    assert not state.channels["5.1"].inbound
    apply(state, {"event": "Newstate", "channel": "PJSIP/carrier-0000000a",
                  "channelstate": "6", "uniqueid": "6.2", "linkedid": "6.1"})
    assert not state.channels["6.2"].inbound
    assert state.channels["6.2"].direction_basis == "joined mid-call, dialled from channel 6.1"
    apply(state, {"event": "Newstate", "channel": "PJSIP/carrier-0000000b",
                  "channelstate": "6", "uniqueid": "7.1", "linkedid": "7.1"})
    apply(state, {**OUTBOUND, "uniqueid": "7.1", "linkedid": "7.1"})  # the listing knows
    assert not state.channels["7.1"].inbound
