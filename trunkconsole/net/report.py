"""The provider report: for every provider address, SIP per transport and the RTP range.

Each cell is a verdict from the engine (with the deciding rule, path and assumptions);
problems become Findings (domain "network") that also join `trunkconsole check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.net.bans import Ban, BanIndex
from trunkconsole.net.crosscheck import host_findings
from trunkconsole.net.engine import Engine
from trunkconsole.net.helper import HelperState
from trunkconsole.net.host import HostFacts
from trunkconsole.net.inputs import NetworkInputs, ProviderAddress, Transport
from trunkconsole.net.ir import Ruleset
from trunkconsole.net.packet import Probe
from trunkconsole.net.verdict import Decision, PacketVerdict, RangeVerdict, RuleRef


@dataclass
class ProviderRow:
    """One provider address: SIP per transport name, and the RTP range."""

    address: ProviderAddress
    source: str | None  # the address evaluated (first host of a network), None if unresolved
    sip: dict[str, PacketVerdict] = field(default_factory=dict)
    rtp: RangeVerdict | None = None
    iif: str | None = None
    note: str = ""
    bans: list[Ban] = field(default_factory=list)  # fail2ban / CrowdSec / FreePBX

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.address.provider, "address": self.address.address,
                "origin": self.address.origin, "location": self.address.location,
                "evaluated_as": self.source, "iif": self.iif, "note": self.note,
                "bans": [b.to_json() for b in self.bans],
                "sip": {name: v.to_json() for name, v in self.sip.items()},
                "rtp": self.rtp.to_json() if self.rtp else None}


@dataclass
class NetworkReport:
    rows: list[ProviderRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    host: HostFacts | None = None
    helper: HelperState | None = None
    firewall_error: str = ""
    ruleset_notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"rows": [r.to_json() for r in self.rows],
                "findings": [f.to_json() for f in self.findings],
                "firewall_error": self.firewall_error, "ruleset_notes": self.ruleset_notes,
                "sip_helper": None if self.helper is None else {
                    "active": self.helper.active, "assigned_by": self.helper.assigned_by,
                    "explain": self.helper.explain()}}


def _fix(ref: RuleRef | None, probe: Probe, transport_text: str) -> str:
    """The rule to add (as text to copy, never applied): before the deciding rule."""
    if ref is None:
        return ""
    family = "ip6" if probe.family == 6 else "ip"
    ports = probe.ports_text()
    if ref.owner == "ufw":
        return f"ufw allow from {probe.src} to any port {ports.replace('-', ':')} " \
               f"proto {probe.proto}"
    if ref.owner == "firewalld":
        return ("firewall-cmd --permanent --add-rich-rule='rule family="
                f"{'ipv6' if family == 'ip6' else 'ipv4'} source address={probe.src} port "
                f"port={ports} protocol={probe.proto} accept' && firewall-cmd --reload")
    if "iptables" in ref.label:
        tool = "ip6tables" if family == "ip6" else "iptables"
        legacy = "-legacy" if ref.label.startswith("legacy") else ""
        position = ref.label.rsplit("rule ", 1)[-1].split()[0] if "rule " in ref.label else "1"
        table = ref.table.split()[-1]
        return f"{tool}{legacy} -t {table} -I {ref.chain} {position} -s {probe.src} -p " \
               f"{probe.proto} --dport {ports.replace('-', ':')} -j ACCEPT"
    where = f"{ref.table} {ref.chain}"
    match = f"{family} saddr {probe.src} {probe.proto} dport {ports} accept"
    if ref.handle is None:
        return f"nft insert rule {where} {match}   # {transport_text}"
    return f"nft insert rule {where} position {ref.handle} {match}   # {transport_text}"


def _evidence(verdict: PacketVerdict) -> tuple[Evidence, ...]:
    ref = verdict.deciding
    items = [Evidence(f"{ref.label}: {ref.text}")] if ref else []
    items += [Evidence(f"depends on {line}") for line in verdict.unknown_lines()]
    return tuple(items)


def build_report(inputs: NetworkInputs, ruleset: Ruleset | None, host: HostFacts | None,
                 helper: HelperState | None, *, firewall_error: str = "",
                 engine: Engine | None = None) -> NetworkReport:
    """Evaluate every provider address against the ruleset and cross-check the host."""
    report = NetworkReport(host=host, helper=helper, firewall_error=firewall_error)
    if ruleset is not None:
        report.ruleset_notes = list(ruleset.notes)
        if engine is None:
            engine = Engine(ruleset, local_addresses=sorted(host.local()) if host else None)
    seen: set[tuple[str, str]] = set()
    for address in inputs.providers:
        if (address.provider, address.address) in seen:
            continue
        seen.add((address.provider, address.address))
        row = ProviderRow(address, address.probe_address())
        report.rows.append(row)
        if row.source is None:
            row.note = f"{address.address} is a hostname: resolve it to check the firewall"
            continue
        if row.source != address.address:
            row.note = f"network {address.address} evaluated as {row.source}"
        route = host.routes.get(row.source) if host else None
        row.iif = route.oif if route and not route.error else None
        if engine is None:
            continue
        family = 6 if ":" in row.source else 4
        for transport in inputs.transports:
            if transport.family != family and not transport.wildcard:
                continue
            if transport.wildcard and transport.bind == "::" and family == 4:
                pass  # a [::] socket also takes IPv4 (v4-mapped) unless v6only
            probe = _probe(row, transport.l4, transport.port, None, transport, route)
            row.sip[transport.name] = engine.evaluate(probe)
        rtp_probe = _probe(row, "udp", inputs.rtp_start, inputs.rtp_end, None, route)
        row.rtp = engine.evaluate_range(rtp_probe)
        report.findings.extend(_row_findings(row, inputs))
    if helper is not None and helper.active:
        report.findings.append(Finding(
            code="network-sip-helper", severity=Severity.WARNING, domain="network",
            title="SIP conntrack helper (SIP ALG) is active", subject="nf_conntrack_sip",
            evidence=tuple(Evidence(a) for a in helper.assigned_by), fix=(
                "prefer explicit RTP rules and remove the helper assignment (e.g. firewalld: "
                "firewall-cmd --remove-service=sip, then open 5060 and the RTP range as "
                "ports)"),
            details={"explain": helper.explain()}))
    for note in report.ruleset_notes:
        report.findings.append(Finding(code="network-ruleset-note", severity=Severity.INFO,
                                       title=note, domain="network"))
    if firewall_error:
        report.findings.append(Finding(code="network-firewall-unreadable",
                                       severity=Severity.INFO, domain="network",
                                       title="firewall not checked", subject="nftables",
                                       evidence=(Evidence(firewall_error),)))
    if host is not None:
        report.findings.extend(host_findings(inputs, host))
    return report


def _probe(row: ProviderRow, proto: str, lo: int, hi: int | None, transport: Transport | None,
           route: Any) -> Probe:
    assert row.source is not None
    dst: str | None = None
    if transport is not None and not transport.wildcard:
        dst = transport.bind
    elif route is not None and not route.error and route.prefsrc:
        dst = route.prefsrc
    return Probe(row.source, lo, hi, proto=proto, dst=dst, iif=row.iif,
                 rpf_ok=True if row.iif else None)


def _row_findings(row: ProviderRow, inputs: NetworkInputs) -> list[Finding]:
    findings: list[Finding] = []
    subject = f"{row.address.provider} {row.address.address}"
    for name, verdict in row.sip.items():
        if verdict.decision is Decision.ACCEPT:
            continue
        blocked = verdict.decision is Decision.DROP
        findings.append(Finding(
            code="network-sip-blocked" if blocked else "network-sip-depends",
            severity=Severity.CRITICAL if blocked else Severity.WARNING, domain="network",
            title=f"SIP from {row.address.provider} ({row.source}) on {name}: "
                  f"{verdict.summary()}",
            subject=subject, evidence=_evidence(verdict),
            fix=_fix(verdict.deciding, verdict.probe, f"SIP {name}") if blocked else "",
            details={"verdict": verdict.to_json()}))
    rtp = row.rtp
    if rtp is not None and rtp.decision is not Decision.ACCEPT:
        dropped = [c for c in rtp.classes if c.verdict.decision is Decision.DROP]
        # part of the range dropped = calls without audio whenever Asterisk picks those ports
        severity = Severity.CRITICAL if dropped else Severity.WARNING
        first = dropped[0] if dropped else rtp.classes[0]
        findings.append(Finding(
            code="network-rtp-blocked" if dropped else "network-rtp-depends",
            severity=severity, domain="network",
            title=f"RTP {inputs.rtp_start}-{inputs.rtp_end} from {row.address.provider} "
                  f"({row.source}): {rtp.summary()}",
            subject=subject, evidence=_evidence(first.verdict),
            fix=_fix(first.verdict.deciding, first.verdict.probe, "RTP") if dropped else "",
            details={"rtp": rtp.to_json()}))
    return findings


def attach_bans(report: NetworkReport, index: BanIndex) -> None:
    """Name the bans of each provider address on its row (the diagnosis names the fix)."""
    for row in report.rows:
        row.bans = index.lookup(row.source) if row.source is not None else []
