"""A provider banned by fail2ban, CrowdSec or the FreePBX firewall.

The compound failure: the provider's new IP gets 401s (no identify matches it), the
stock fail2ban asterisk jail counts each InvalidAccountID in the security log and bans the
address after maxretry (10), and from then on its INVITEs never reach Asterisk, so no
new unknown-sender event shows either. Fixing the identify alone does not bring the
calls back; the ban must be lifted and the address kept out of the jail (ignoreip).
So every address that matters is looked up in the bans: identify matches and contact
hosts, recent unknown senders, and every banned address near a trunk's addresses.
"""

from __future__ import annotations

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.propose import propose_trunks
from trunkconsole.findings import AddProviderAddress, Finding, Severity
from trunkconsole.findings import Evidence as Line
from trunkconsole.net.bans import Ban, banned_addresses
from trunkconsole.net.verdict import Decision

STRONG = 3  # same /24 (or /48) as a trunk's match: see changes/propose.py


def _lines(ev: Evidence, address: str, bans: list[Ban]) -> list[Line]:
    lines = [Line(f"{address} banned by {ban.describe(ev.now)}") for ban in bans]
    verdict = ev.sip_verdict(address)
    if verdict is not None:
        lines.append(Line(f"firewall, SIP from {address}: {verdict.summary()}"))
    return lines


def _fix(bans: list[Ban]) -> str:
    return "; ".join(dict.fromkeys(ban.fix() for ban in bans if ban.fix()))


def _details(address: str, bans: list[Ban], **extra: object) -> dict[str, object]:
    first = bans[0]
    return {"address": address, "ban_tool": first.tool, "jail": first.jail,
            "bans": [b.to_json() for b in bans], **extra}


def provider_banned(ev: Evidence) -> list[Finding]:
    if ev.bans is None:
        return []
    findings: list[Finding] = []
    done: set[str] = set()
    for row in ev.network.rows if ev.network is not None else []:
        address = row.source
        if address is None or address in done or row.address.address != address:
            continue
        bans = ev.bans.lookup(address)
        if not bans:
            continue
        done.add(address)
        trunk = row.address.provider
        findings.append(Finding(
            code="provider-banned", short="provider banned", severity=Severity.CRITICAL,
            domain="network",
            title=f"trunk {trunk}'s address {address} is banned by {_who(bans[0])}: its "
                  "calls cannot get in",
            subject=trunk, evidence=(Line(f"{row.address.origin} {address}",
                                          *_location(row.address.location)),
                                     *_lines(ev, address, bans)),
            fix=_fix(bans), details=_details(address, bans, trunk=trunk)))
    senders = {s.address for s in ev.unknown_senders()}  # live and from the logs
    for address in [*sorted(senders), *banned_addresses(ev.bans)]:
        if address in done:
            continue
        done.add(address)
        bans = ev.bans.lookup(address)
        if not bans:
            continue
        findings.append(_new_address(ev, address, bans, address in senders))
    return [f for f in findings if f is not None]


def _who(ban: Ban) -> str:
    return ban.describe().split(" (", 1)[0]


def _location(location: str) -> tuple[str | None, int | None]:
    if not location:
        return None, None
    path, _, line = location.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (location, None)


def _new_address(ev: Evidence, address: str, bans: list[Ban], sender: bool) -> Finding:
    candidates = [] if ev.config is None else [
        c for c in propose_trunks(ev.config, address) if c.score >= STRONG]
    lines = _lines(ev, address, bans)
    if sender:
        lines.insert(0, Line(f"{address} sent SIP that no identify matches (401)"))
    if not candidates:
        return Finding(
            code="banned-sender", short="banned sender",
            severity=Severity.INFO if not sender else Severity.WARNING,
            domain="network", title=f"{address} is banned by {_who(bans[0])}"
            + (" (it sent SIP no identify matches)" if sender else ""),
            subject=address, evidence=tuple(lines),
            fix=f"if it is a provider: {_fix(bans)}; if not, the ban is doing its job",
            details=_details(address, bans))
    trunk = candidates[0].trunk
    lines += [Line(f"why trunk {trunk}: {reason}") for reason in candidates[0].reasons]
    verdict = ev.sip_verdict(address)
    blocked = verdict is not None and verdict.decision is Decision.DROP
    return Finding(
        code="provider-ip-changed-banned", short="new provider IP banned",
        severity=Severity.CRITICAL, domain="live",
        title=f"the provider of trunk {trunk} now sends from {address}: no identify matches "
              f"it, and {_who(bans[0])} banned it",
        subject=trunk, evidence=tuple(lines),
        fix=(f"1) add it to the trunk: trunkconsole identify add {trunk} {address}; "
             f"2) lift the ban: {_fix(bans)}"
             + ("" if blocked or verdict is None else
                "; the firewall verdict does not show the ban now: re-read the rules")),
        details=_details(address, bans, trunk=trunk,
                         other_candidates=[c.trunk for c in candidates[1:]]),
        proposal=AddProviderAddress(trunk=trunk, address=address))
