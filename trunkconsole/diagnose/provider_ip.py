"""The provider changed its IP: inbound goes silent, and only unknown senders show it.

Asterisk answers a request that no identify matches with 401 (the artificial endpoint,
res_pjsip/pjsip_distributor.c) and raises InvalidAccountID; nothing else is logged as an
error. So the evidence is an unknown sender near a trunk's addresses (same /24, or the
trunk's DIDs, or its usual From users), the trunk's own silence (no calls, the old
contact unreachable), and whether the firewall would even let the new address in.
"""

from __future__ import annotations

import ipaddress

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.propose import propose_trunks
from trunkconsole.diagnose.text import ago, clock, plural
from trunkconsole.findings import AddProviderAddress, Finding, Severity
from trunkconsole.findings import Evidence as Line
from trunkconsole.net.verdict import Decision
from trunkconsole.pjsip.system import AsteriskConfig

STRONG = 3  # a proposal needs at least this score: same /24, or a dialled DID


def _seen_from_users(ev: Evidence) -> dict[str, set[str]]:
    """Caller numbers seen on each trunk's inbound calls (channels and hangups)."""
    seen: dict[str, set[str]] = {}
    if ev.state is None:
        return seen
    for channel in ev.state.channels.values():
        if channel.caller_num:
            seen.setdefault(channel.endpoint, set()).add(channel.caller_num)
    for hangup in ev.state.hangups:
        if hangup.caller_num:
            seen.setdefault(hangup.endpoint, set()).add(hangup.caller_num)
    return seen


def provider_ip_changed(ev: Evidence) -> list[Finding]:
    if ev.config is None or (ev.state is None and ev.log is None
                             and ev.journal_senders is None):
        return []
    findings = []
    known = _seen_from_users(ev)
    # The most recent and busiest first: a provider that moved keeps knocking.
    senders = sorted(ev.unknown_senders(), key=lambda s: (-s.last_seen, -s.count))
    for sender in senders:
        if ev.bans is not None and ev.bans.lookup(sender.address):
            continue  # diagnose/bans.py names it with both fixes
        if _identified(ev.config, sender.address):
            continue  # refused before the identify was added (the logs remember it)
        lines = [Line(f"{plural(sender.count, 'request')} from {sender.address} refused with "
                      f"401 since {clock(sender.first_seen)}, last {ago(ev.now, sender.last_seen)}"
                      f" ({sender.last_event}"
                      + (f", From user {sender.account}" if sender.account else "") + ")")]
        if ev.log is not None:
            lines += [Line(e.text, file=e.file) for e in ev.log.about(sender.address, 2)]
        verdict = ev.sip_verdict(sender.address)
        blocked = verdict is not None and verdict.decision is Decision.DROP
        if verdict is not None:
            lines.append(Line(f"firewall, SIP from {sender.address}: {verdict.summary()}"))
        candidates = [c for c in propose_trunks(ev.config, sender.address,
                                                from_users=sender.accounts,
                                                known_from_users=known) if c.score >= STRONG]
        if not candidates:
            findings.append(Finding(
                code="unknown-sender", severity=Severity.WARNING, domain="live",
                title=f"{sender.address} sends SIP that no identify matches",
                subject=sender.address, evidence=tuple(lines),
                fix=(f"if it is a provider: trunkconsole identify add TRUNK {sender.address}; "
                     "if not, it is probably a scanner: block it in the firewall"),
                details={"address": sender.address}, short="unknown sender",
                proposal=AddProviderAddress(address=sender.address),
                raised_at=sender.first_seen))
            continue
        best = candidates[0]
        trunk = best.trunk
        lines += [Line(f"why trunk {trunk}: {reason}") for reason in best.reasons]
        lines += _trunk_silence(ev, trunk)
        fix = f"add {sender.address} to trunk {trunk}: trunkconsole identify add {trunk} " \
              f"{sender.address}"
        if blocked and verdict is not None and verdict.deciding is not None:
            fix += f"; and let it through the firewall: {verdict.deciding.label} drops it " \
                   f"({verdict.deciding.text})"
        findings.append(Finding(
            code="provider-ip-changed", severity=Severity.CRITICAL, domain="live",
            title=f"the provider of trunk {trunk} now sends from {sender.address}: "
                  "Asterisk refuses those calls (no identify matches)",
            subject=trunk, evidence=tuple(lines), fix=fix,
            short="provider IP changed",
            proposal=AddProviderAddress(trunk=trunk, address=sender.address),
            details={"trunk": trunk, "address": sender.address,
                     "requests": sender.count, "firewall_blocks": blocked,
                     "other_candidates": [c.trunk for c in candidates[1:]]},
            raised_at=sender.first_seen))
    return findings


def _identified(config: AsteriskConfig, address: str) -> bool:
    """True when an identify in the current config matches address now."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(match.contains(ip) for identify in config.pjsip.of_type("identify")
               for match, _option in config.pjsip.matches(identify))


def _trunk_silence(ev: Evidence, trunk: str) -> list[Line]:
    if ev.state is None:
        return []
    endpoint = ev.state.endpoints.get(trunk)
    if endpoint is None:
        return []
    lines = []
    for contact in ev.state.contacts_of(endpoint):
        if contact.status != "Reachable":
            lines.append(Line(f"trunk {trunk}'s contact {contact.uri} is {contact.status}"))
    calls = endpoint.calls_last_hour(ev.now)
    lines.append(Line(f"{plural(calls, 'call')} on trunk {trunk} in the last hour"
                      if calls else f"no calls on trunk {trunk} since the console started"))
    return lines
