"""The channel half of PbxState: calls as AMI tells them, hangups, and RTCP per call.

A channel is created by the first snapshot event that names its Uniqueid (Newchannel, or
CoreShowChannel during a resync) and dropped by Hangup; the Uniqueid carries the wall time
the channel started (norm.started_from_uniqueid), so a call found by a resync keeps its
real duration.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Set

from trunkconsole.ami.message import AmiMessage
from trunkconsole.calls.quality import QualityBook
from trunkconsole.model import normalise as norm
from trunkconsole.model.keys import _NOTHING, CHANNEL, ENDPOINT, HANGUPS, QUALITY, Fields, Key
from trunkconsole.model.records import Channel, Endpoint, Hangup

HANGUP_RING = 500


class ChannelEvents:
    """Channel, hangup and RTCP handlers over PbxState's dictionaries (a mixin: PbxState
    owns the data and the dispatch)."""

    clock: Callable[[], float]
    endpoints: dict[str, Endpoint]
    channels: dict[str, Channel]  # uniqueid -> Channel
    hangups: deque[Hangup]
    quality: QualityBook
    _gen: dict[str, int]

    def _endpoint(self, name: str) -> Endpoint:
        raise NotImplementedError  # PbxState's: creates the endpoint a channel names

    def _channel_snapshot(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        uid = f.get("uniqueid", "")
        if not uid:
            return _NOTHING
        channel = self.channels.get(uid)
        changed: set[Key] = {(CHANNEL, uid)}
        if channel is None:
            name = f.get("channel", "")
            endpoint_name = norm.endpoint_of_channel(name)
            started = norm.started_from_uniqueid(uid)
            now = self.clock()
            inbound, basis = norm.direction(f)
            channel = self.channels[uid] = Channel(
                uniqueid=uid, name=name, endpoint=endpoint_name,
                started_at=now if started is None else started,
                inbound=inbound, direction_basis=basis,
            )
            if endpoint_name:
                endpoint = self._endpoint(endpoint_name) if (
                    endpoint_name not in self.endpoints) else self.endpoints[endpoint_name]
                endpoint.channels.add(uid)
                endpoint.calls_started.append(channel.started_at)
                changed.add((ENDPOINT, endpoint_name))
        elif f.get("event") == "CoreShowChannel" and channel.direction_basis != \
                "seen from its start":  # the listing names the application: know better
            channel.inbound, channel.direction_basis = norm.direction(f)
        channel.gen = self._gen["channels"]
        channel.state = f.get("channelstatedesc", channel.state)
        channel.state_code = norm.to_int(f.get("channelstate", ""), channel.state_code)
        channel.caller_num = f.get("calleridnum", channel.caller_num)
        channel.caller_name = f.get("calleridname", channel.caller_name)
        channel.connected_num = f.get("connectedlinenum", channel.connected_num)
        channel.connected_name = f.get("connectedlinename", channel.connected_name)
        channel.context = f.get("context", channel.context)
        exten = f.get("exten", channel.exten)
        channel.exten = exten
        if not channel.did and exten and exten != "s":
            channel.did = exten
        channel.linkedid = f.get("linkedid", channel.linkedid)
        channel.application = f.get("application", channel.application)
        channel.bridge_id = f.get("bridgeid", channel.bridge_id)
        return changed

    def _newexten(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        channel = self.channels.get(f.get("uniqueid", ""))
        if channel is None:
            return _NOTHING
        channel.context = f.get("context", channel.context)
        channel.exten = f.get("exten", channel.exten)
        channel.application = f.get("application", channel.application)
        return {(CHANNEL, channel.uniqueid)}

    def _hangup_request(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        channel = self.channels.get(f.get("uniqueid", ""))
        tech = f.get("techcause")
        if channel is None or not tech:
            return _NOTHING
        channel.tech_cause = norm.to_int(tech) or channel.tech_cause
        return _NOTHING

    def _hangup(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        uid = f.get("uniqueid", "")
        channel = self.channels.get(uid)
        now = self.clock()
        name = f.get("channel", "")
        tech = norm.to_int(f.get("techcause", "0")) or None
        if channel is not None and tech is None:
            tech = channel.tech_cause
        started = channel.started_at if channel is not None else (
            norm.started_from_uniqueid(uid) or now)
        record = Hangup(
            at=now, uniqueid=uid, channel=name, endpoint=norm.endpoint_of_channel(name),
            cause=norm.to_int(f.get("cause", "0")), cause_txt=f.get("cause-txt", ""),
            tech_cause=tech, caller_num=f.get("calleridnum", ""),
            caller_name=f.get("calleridname", ""),
            did=channel.did if channel is not None else f.get("exten", ""),
            duration=max(0.0, now - started),
        )
        self.hangups.append(record)
        changed = self._drop_channel(uid)
        changed.add(HANGUPS)
        endpoint = self.endpoints.get(record.endpoint)
        if endpoint is not None:
            endpoint.last_hangup = record
            changed.add((ENDPOINT, endpoint.name))
        return changed

    def _drop_channel(self, uid: str) -> set[Key]:
        channel = self.channels.pop(uid, None)
        self.quality.drop(uid)
        changed: set[Key] = {(CHANNEL, uid)}
        if channel is not None and channel.endpoint:
            endpoint = self.endpoints.get(channel.endpoint)
            if endpoint is not None:
                endpoint.channels.discard(uid)
                changed.add((ENDPOINT, endpoint.name))
        return changed

    def _rtcp(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        uid = f.get("uniqueid", "")
        if uid not in self.channels or self.quality.record(f, self.clock()) is None:
            return _NOTHING
        return {(QUALITY, uid)}

