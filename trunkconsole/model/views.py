"""Read-side summaries of PbxState shared by `trunkconsole status` and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from trunkconsole.model.records import Contact, Endpoint
from trunkconsole.model.state import PbxState


@dataclass(frozen=True, slots=True)
class TrunkSummary:
    """One trunk row: everything the dashboard and `status` show for it."""

    name: str
    status: str  # Reachable | Unreachable | NonQualified | Unknown | No contacts
    rtt_ms: float | None
    rtt_history: tuple[float, ...]
    matches: tuple[str, ...]
    registration: str  # "" when the trunk does not register
    calls_now: int
    calls_last_hour: int
    last_hangup: str
    device_state: str


def contact_rollup(contacts: list[Contact]) -> str:
    """The best contact status: any Reachable wins (as Asterisk's PeerStatus computes it)."""
    if not contacts:
        return "No contacts"
    statuses = {c.status for c in contacts}
    for status in ("Reachable", "Unreachable", "NonQualified"):
        if status in statuses:
            return status
    return "Unknown"


def best_rtt(contacts: list[Contact]) -> tuple[float | None, tuple[float, ...]]:
    reachable = [c for c in contacts if c.status == "Reachable" and c.rtt_usec is not None]
    if not reachable:
        return None, ()
    best = min(reachable, key=lambda c: c.rtt_usec or 0)
    return best.rtt_ms, tuple(best.rtt_history)


def trunk_summary(state: PbxState, endpoint: Endpoint, now: float) -> TrunkSummary:
    contacts = state.contacts_of(endpoint)
    rtt, history = best_rtt(contacts)
    registrations = [state.registrations[r] for r in sorted(endpoint.registrations)
                     if r in state.registrations]
    return TrunkSummary(
        name=endpoint.name,
        status=contact_rollup(contacts),
        rtt_ms=rtt,
        rtt_history=history,
        matches=endpoint.matches,
        registration=", ".join(r.status for r in registrations),
        calls_now=len(endpoint.channels),
        calls_last_hour=endpoint.calls_last_hour(now),
        last_hangup=endpoint.last_hangup.describe() if endpoint.last_hangup else "",
        device_state=endpoint.device_state,
    )


def trunk_summaries(state: PbxState, now: float) -> list[TrunkSummary]:
    return [trunk_summary(state, e, now) for e in sorted(state.trunks(), key=lambda e: e.name)]
