"""Live findings from PbxState: unreachable trunks, rejected registrations, unknown senders."""

from __future__ import annotations

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.model.state import PbxState
from trunkconsole.model.views import trunk_summary


def live_findings(state: PbxState, now: float) -> list[Finding]:
    """What the live PBX shows wrong right now, worst first."""
    found: list[Finding] = []
    for endpoint in sorted(state.trunks(), key=lambda e: e.name):
        summary = trunk_summary(state, endpoint, now)
        if summary.status == "Unreachable":
            found.append(Finding(
                code="trunk-unreachable", severity=Severity.CRITICAL, domain="live",
                title=f"trunk {endpoint.name} is unreachable (qualify OPTIONS unanswered)",
                subject=endpoint.name,
                evidence=tuple(Evidence(f"contact {c.uri}: {c.status}")
                               for c in state.contacts_of(endpoint)),
                fix="check the provider's address, the route and the firewall towards it",
            ))
        for name in sorted(endpoint.registrations):
            registration = state.registrations.get(name)
            if registration is not None and registration.status == "Rejected":
                found.append(Finding(
                    code="registration-rejected", severity=Severity.CRITICAL, domain="live",
                    title=f"registration {name} of trunk {endpoint.name} is rejected",
                    subject=endpoint.name,
                    evidence=(Evidence(f"{registration.client_uri} -> "
                                       f"{registration.server_uri}: Rejected"),),
                    fix="check the outbound auth username and password with the provider",
                ))
    for sender in sorted(state.senders.by_address.values(), key=lambda s: -s.count):
        found.append(Finding(
            code="unknown-sender", severity=Severity.WARNING, domain="live",
            title=f"{sender.address} sent {sender.count} request(s) that no identify matches",
            subject=sender.address,
            evidence=(Evidence(f"{sender.last_event} over {sender.transport or '?'}, "
                               f"From user {sender.account or '?'}"),),
            fix="if this is your provider's new address, add it to the trunk's identify "
            "match; otherwise it is a scanner (firewall it)",
            details={"count": sender.count, "last_seen": sender.last_seen},
        ))
    found.sort(key=lambda f: -f.severity)
    return found
