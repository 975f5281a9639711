"""Cross-checks between host facts and the PJSIP transports / rtp.conf (reference §7).

Asterisk applies external_media_address / external_signaling_address only toward
addresses outside every local_net of the transport (res_pjsip_nat.c), so a local_net that
covers the provider silently sends private addresses in SDP and Contact.
"""

from __future__ import annotations

import ipaddress

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.net.host import HostFacts, is_private
from trunkconsole.net.inputs import NetworkInputs, Transport


def _in_nets(address: str, nets: tuple[str, ...]) -> str | None:
    ip = ipaddress.ip_address(address)
    for net in nets:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return net
        except ValueError:
            continue
    return None


def _finding(code: str, severity: Severity, title: str, subject: str, fix: str,
             *evidence: str) -> Finding:
    return Finding(code=code, severity=severity, title=title, subject=subject, fix=fix,
                   domain="network", evidence=tuple(Evidence(e) for e in evidence))


def host_findings(inputs: NetworkInputs, host: HostFacts) -> list[Finding]:
    """Bind, listening, NAT and local_net problems, in the operator's words."""
    findings: list[Finding] = []
    local = host.local()
    for address in host.addresses:
        if address.tentative or address.dadfailed:
            state = "failed duplicate address detection" if address.dadfailed else "tentative"
            findings.append(_finding(
                "network-address-dad", Severity.WARNING,
                f"{address.address} on {address.ifname} is {state}", address.address,
                "check for a duplicate address on the link", f"{address.ifname} {address.address}"))
    for transport in inputs.transports:
        findings.extend(_transport_findings(transport, host, local))
    for provider in inputs.providers:
        source = provider.probe_address()
        if source is None:
            continue
        route = host.routes.get(source)
        if route is None:
            continue
        if route.error:
            findings.append(_finding(
                "network-no-route", Severity.WARNING,
                f"no route to {provider.provider} ({source})", provider.provider,
                "add a route toward the provider", route.error))
            continue
        for transport in inputs.transports:
            findings.extend(_nat_findings(transport, provider.provider, source, route.prefsrc,
                                          route.oif))
    return _unique(findings)


def _transport_findings(transport: Transport, host: HostFacts, local: set[str]) -> list[Finding]:
    findings = []
    where = f"transport {transport.name} ({transport.location})"
    if not transport.wildcard and transport.bind not in local:
        findings.append(_finding(
            "network-bind-not-local", Severity.CRITICAL,
            f"transport {transport.name} binds {transport.bind}, which is not an address of "
            "this host", transport.name,
            "bind to 0.0.0.0 or to one of: " + ", ".join(sorted(local)), where))
    if host.sockets is not None:
        address = "0.0.0.0" if transport.wildcard else transport.bind
        listening = [s for s in host.sockets if s.proto == transport.l4 and
                     s.port == transport.port and (s.covers(address) or s.address == address)]
        if not listening:
            findings.append(_finding(
                "network-not-listening", Severity.CRITICAL,
                f"nothing listens on {transport.l4}/{transport.port} for transport "
                f"{transport.name}", transport.name,
                "check `pjsip show transports` and Asterisk's log for bind errors", where))
        elif all(s.process and s.process != "asterisk" for s in listening):
            owners = ", ".join(sorted({f"{s.process} (pid {s.pid})" for s in listening}))
            findings.append(_finding(
                "network-port-owner", Severity.WARNING,
                f"{transport.l4}/{transport.port} belongs to {owners}, not asterisk",
                transport.name, "stop the other program or move the transport", where))
    return findings


def _nat_findings(transport: Transport, provider: str, source: str, prefsrc: str | None,
                  oif: str | None) -> list[Finding]:
    findings = []
    where = f"transport {transport.name} ({transport.location})"
    covering = _in_nets(source, transport.local_nets)
    if covering and not is_private(source):
        findings.append(_finding(
            "network-provider-in-local-net", Severity.WARNING,
            f"{provider} ({source}) is inside local_net {covering} of {transport.name}: "
            "Asterisk will not use the external addresses toward it", provider,
            f"narrow local_net={covering} to the LAN only", where))
    if prefsrc and is_private(prefsrc) and not is_private(source) and \
            not transport.external_media_address:
        findings.append(_finding(
            "network-nat-no-external-media", Severity.WARNING,
            f"{provider} is reached from private address {prefsrc} (via {oif}) and "
            f"{transport.name} has no external_media_address: SDP will carry {prefsrc}",
            provider, f"set external_media_address and external_signaling_address on "
                      f"{transport.name} to the public address, and local_net to the LAN",
            where))
    if prefsrc and not is_private(prefsrc):
        for option in ("external_media_address", "external_signaling_address"):
            value = getattr(transport, option)
            if value and value != prefsrc and not any(c.isalpha() for c in value):
                findings.append(_finding(
                    "network-external-mismatch", Severity.INFO,
                    f"{transport.name} {option}={value} differs from {prefsrc}, the address "
                    f"used toward {provider} (fine behind 1:1 NAT)", transport.name,
                    "check the public address", where))
    return findings


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for finding in findings:
        key = (finding.code, finding.title)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out
