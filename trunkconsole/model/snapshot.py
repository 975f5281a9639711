"""PbxState as plain data (JSON for `trunkconsole status --json`, and test comparisons)."""

from __future__ import annotations

from typing import Any

from trunkconsole.model.records import Channel, Contact, Hangup, ResolvedSender, UnknownSender
from trunkconsole.model.state import PbxState
from trunkconsole.model.views import trunk_summary


def _contact(c: Contact) -> dict[str, Any]:
    return {"aor": c.aor, "uri": c.uri, "status": c.status, "rtt_ms": c.rtt_ms,
            "static": c.static, "user_agent": c.user_agent, "via": c.via}


def _channel(c: Channel, now: float) -> dict[str, Any]:
    return {"uniqueid": c.uniqueid, "channel": c.name, "endpoint": c.endpoint,
            "state": c.state, "caller_num": c.caller_num, "caller_name": c.caller_name,
            "did": c.did, "context": c.context, "exten": c.exten, "linkedid": c.linkedid,
            "inbound": c.inbound, "direction_basis": c.direction_basis,
            "duration": round(c.duration(now), 1)}


def _quality(state: PbxState, uniqueid: str) -> dict[str, Any] | None:
    """RTCP figures of the channel (None until a report arrived; needs read=reporting)."""
    quality = state.quality.calls.get(uniqueid)
    return quality.to_json() if quality is not None else None


def _hangup(h: Hangup) -> dict[str, Any]:
    return {"at": h.at, "channel": h.channel, "endpoint": h.endpoint, "cause": h.cause,
            "cause_txt": h.cause_txt, "tech_cause": h.tech_cause, "did": h.did,
            "caller_num": h.caller_num, "duration": round(h.duration, 1)}


def _sender(s: UnknownSender) -> dict[str, Any]:
    return {"address": s.address, "transport": s.transport, "port": s.port,
            "count": s.count, "first_seen": s.first_seen, "last_seen": s.last_seen,
            "accounts": list(s.accounts), "last_event": s.last_event}


def _resolved(r: ResolvedSender) -> dict[str, Any]:
    return {**_sender(r.sender), "resolved_at": r.at, "identify": r.identify,
            "endpoint": r.endpoint}


def snapshot(state: PbxState, now: float) -> dict[str, Any]:
    """Everything in the model, JSON-ready; untrusted strings are left as they came."""
    endpoints = []
    for endpoint in sorted(state.endpoints.values(), key=lambda e: e.name):
        summary = trunk_summary(state, endpoint, now)
        endpoints.append({
            "name": endpoint.name, "trunk": endpoint.is_trunk,
            "transport": endpoint.transport, "aors": list(endpoint.aors),
            "context": endpoint.context, "device_state": endpoint.device_state,
            "status": summary.status, "rtt_ms": summary.rtt_ms,
            "identify_matches": list(endpoint.matches),
            "registrations": sorted(endpoint.registrations),
            "calls_now": summary.calls_now, "calls_last_hour": summary.calls_last_hour,
            "last_hangup": summary.last_hangup,
            "contacts": [_contact(c) for c in state.contacts_of(endpoint)],
        })
    return {
        "endpoints": endpoints,
        "registrations": [
            {"name": r.name, "server_uri": r.server_uri, "client_uri": r.client_uri,
             "endpoint": r.endpoint, "status": r.status}
            for r in sorted(state.registrations.values(), key=lambda r: r.name)
        ],
        "channels": [_channel(c, now) | {"quality": _quality(state, c.uniqueid)} for c in
                     sorted(state.channels.values(), key=lambda c: c.order)],
        "recent_hangups": [_hangup(h) for h in list(state.hangups)[-50:]],
        "unknown_senders": [_sender(s) for s in sorted(
            state.senders.by_address.values(), key=lambda s: -s.last_seen)],
        # Once unknown, now matched by an identify (what fixed it, and when).
        "resolved_senders": [_resolved(r) for r in state.senders.resolved.values()],
    }
