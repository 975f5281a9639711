"""Hostname matches, live: what Asterisk loaded for the name against what it resolves to now.

res_pjsip_endpoint_identifier_ip.c resolves a hostname `match=` once, when the identify is
loaded (ast_sockaddr_resolve, every address family), and keeps those addresses until the
next reload. When the lookup fails, the identify cannot be built: on a reload Asterisk
22.10 keeps the one it had ("Retaining existing configuration for object of type
'identify'", res_sorcery_config.c), at a start (or for a new identify) it has none (both
seen in the lab). So a provider that moves its address in DNS is silently unmatched until a
reload, and a name that stops resolving freezes the old addresses, or takes the trunk's
identify away at the next restart. The loaded addresses are IdentifyDetail's Match list.
"""

from __future__ import annotations

import ipaddress

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity
from trunkconsole.model.state import IDENTIFIES
from trunkconsole.pjsip.addresses import parse_ami_matches
from trunkconsole.pjsip.matches import resolve_host, split_host_port
from trunkconsole.pjsip.objects import Option

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(addresses: set[str]) -> set[Network]:
    return {ipaddress.ip_network(a) for a in addresses}


def _text(nets: set[Network]) -> str:
    hosts = sorted(nets, key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    return ", ".join(str(n.network_address) if n.num_addresses == 1 else str(n)
                     for n in hosts) or "nothing"


def hostname_drift(ev: Evidence) -> list[Finding]:
    """A WARNING per hostname identify whose loaded addresses differ from DNS now, or whose
    name does not resolve now (nothing when they agree: the config note stands)."""
    if ev.config is None or ev.state is None or not ev.state.listing_complete(IDENTIFIES):
        return []
    findings: list[Finding] = []
    pjsip = ev.config.pjsip
    for identify in pjsip.of_type("identify"):
        entries = pjsip.matches(identify)
        hosts = [(split_host_port(m.raw)[0], option) for m, option in entries if m.is_host]
        if not hosts:
            continue
        name, trunk = identify.id, identify.value("endpoint")
        endpoint = ev.state.endpoints.get(trunk)
        live = endpoint.identifies.get(name) if endpoint is not None else None
        where = tuple(Line(f"match={o.value}", o.file, o.line) for _, o in hosts)
        unresolved = [h for h, _ in hosts if resolve_host(h) is None]
        if unresolved:
            findings.append(Finding(
                code="match-hostname-unresolved", severity=Severity.WARNING, domain="live",
                title=f"identify {name}: {', '.join(unresolved)} does not resolve now; a "
                      "reload keeps the addresses loaded before, and at the next restart "
                      f"Asterisk rejects the whole identify and trunk {trunk}'s calls go "
                      "unmatched"
                      + ("" if live is not None else " (it is not loaded now either)"),
                subject=trunk, evidence=where,
                fix="match the provider's IP addresses instead of the name (or fix its DNS "
                    "before any reload)",
                details={"identify": name, "hosts": unresolved}))
            continue
        if live is None:
            if endpoint is not None:  # the trunk is loaded, its identify is not
                findings.append(_not_loaded(name, trunk, hosts, where))
            continue
        now: set[Network] = set()
        for host, _ in hosts:
            now |= _networks(resolve_host(host) or set())
        for match, _ in entries:  # the identify's literal entries are loaded as written
            if match.is_address and match.prefix_length is not None:
                now.add(ipaddress.ip_network(f"{match.address}/{match.prefix_length}",
                                             strict=False))
        loaded = {net for net, _port in parse_ami_matches(",".join(live.matches))}
        if loaded == now:
            continue
        names = ", ".join(h for h, _ in hosts)
        findings.append(Finding(
            code="match-hostname-stale", severity=Severity.WARNING, domain="live",
            title=f"identify {name}: Asterisk matches {_text(loaded)} (as resolved when the "
                  f"identify was last built) but {names} resolves now to {_text(now)}: calls from "
                  f"{_text(now - loaded)} are not taken for trunk {trunk}"
                  if now - loaded else
                  f"identify {name}: Asterisk matches {_text(loaded)} (as resolved when the "
                  f"identify was last built) but {names} resolves now to {_text(now)}: "
                  f"{_text(loaded - now)} "
                  f"no longer belongs to the name and is still taken for trunk {trunk}",
            subject=trunk,
            evidence=(*where, Line(f"Asterisk loaded: {_text(loaded)}"),
                      Line(f"{names} now: {_text(now)}")),
            fix="reload res_pjsip so Asterisk resolves the name again (module reload "
                "res_pjsip.so; if Asterisk cannot resolve it, its log says \"Retaining existing "
                "configuration\" and nothing changes), or match the provider's IP addresses "
                "instead of the name",
            details={"identify": name, "loaded": sorted(map(str, loaded)),
                     "now": sorted(map(str, now))}))
    return findings


def _not_loaded(name: str, trunk: str, hosts: list[tuple[str, Option]],
                where: tuple[Line, ...]) -> Finding:
    """The trunk is loaded but its hostname identify is not: the usual cause is a name that
    did not resolve at the last (re)load (Asterisk 22 logs "Identify 'X' failed when adding
    resolution results of 'host'" and rejects the identify; seen in the lab)."""
    names = ", ".join(h for h, _ in hosts)
    now = set().union(*(resolve_host(h) or set() for h, _ in hosts))
    return Finding(
        code="match-hostname-unresolved", severity=Severity.WARNING, domain="live",
        title=f"identify {name} is not loaded in Asterisk, so no call is taken for trunk "
              f"{trunk} by it: a hostname match ({names}) that does not resolve when Asterisk "
              "starts rejects the whole identify; it resolves now to "
              f"{_text(_networks(now))}",
        subject=trunk, evidence=where,
        fix="reload res_pjsip once the name resolves where Asterisk runs (module reload "
            "res_pjsip.so; Asterisk's log names the failed lookup), or match the provider's "
            "IP addresses instead of the name",
        details={"identify": name, "hosts": [h for h, _ in hosts], "loaded": False})
