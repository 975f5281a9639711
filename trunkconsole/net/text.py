"""The provider report as plain text for the terminal (the CLI twin of the network screen)."""

from __future__ import annotations

from trunkconsole.net.packet import Probe
from trunkconsole.net.report import NetworkReport
from trunkconsole.net.unknowns import clip
from trunkconsole.net.verdict import Decision, PacketVerdict, RangeVerdict

MARK = {Decision.ACCEPT: "ok", Decision.DROP: "BLOCKED", Decision.DEPENDS: "depends"}
PARTLY = "PARTLY"
WIDTH = 160  # no line of a verdict is longer; rule texts can be kilobytes
MAX_CLASSES = 6
MAX_UNKNOWNS = 8
MAX_WAYS = 3
MAX_STEPS = 16


def rtp_mark(rtp: RangeVerdict) -> str:
    """`PARTLY` when part of the range is surely dropped (calls lose audio on those ports)
    and the rest accepted or undecided; else the decision."""
    decisions = {c.verdict.decision for c in rtp.classes}
    return PARTLY if Decision.DROP in decisions and len(decisions) > 1 else MARK[rtp.decision]


def verdict_command(probe: Probe) -> str:
    """The `trunkconsole firewall verdict` line that asks the same question again."""
    parts = ["trunkconsole firewall verdict", f"--src {probe.src}",
             f"--dport {probe.ports_text()}", f"--proto {probe.proto}"]
    if probe.dst:
        parts.append(f"--dst {probe.dst}")
    if probe.iif:
        parts.append(f"--iif {probe.iif}")
    if probe.state != "new":
        parts.append(f"--state {probe.state}")
    return " ".join(parts)


def render_report(report: NetworkReport) -> str:
    lines: list[str] = []
    if report.firewall_error:
        lines += ["firewall: not checked", f"  {report.firewall_error}", ""]
    for row in report.rows:
        head = f"{row.address.provider}  {row.address.address}"
        if row.iif:
            head += f"  (arrives on {row.iif})"
        lines.append(head)
        if row.note:
            lines.append(f"  note: {row.note}")
        for name, verdict in row.sip.items():
            lines.append(f"  SIP {name:<16} {MARK[verdict.decision]:<8} {verdict.summary()}")
        if row.rtp is not None:
            lines.append(f"  RTP {'':<16} {rtp_mark(row.rtp):<8} {row.rtp.summary()}")
    if report.helper is not None and report.helper.active:
        lines += ["", f"SIP helper: {report.helper.explain()}"]
    if report.host is not None:
        lines += ["", "host:"]
        for address in report.host.addresses:
            kind = "private" if address.private else "public"
            lines.append(f"  {address.ifname:<10} {address.address}/{address.prefixlen} {kind}")
    if report.findings:
        lines += ["", "findings:"]
        for finding in report.findings:
            lines.append(f"  [{finding.severity.name.lower()}] {finding.title}")
            if finding.fix:
                lines.append(f"      fix: {finding.fix}")
    return "\n".join(lines)


def render_verdict(result: RangeVerdict, ruleset_notes: list[str], width: int = WIDTH) -> str:
    """`firewall verdict` as text: per port class the deciding rule and the path; for
    DEPENDS each distinct deciding rule (with its chains) and one line per unknown, each
    unknown printed once for the whole range. Bounded: MAX_CLASSES classes, MAX_WAYS ways,
    MAX_STEPS steps, MAX_UNKNOWNS unknowns, lines of `width` characters."""
    lines = [clip(result.probe.describe(), width)]
    seen: set[str] = set()
    for cls in result.classes[:MAX_CLASSES]:
        lines.append(clip(f"  {cls.ports()}: {cls.verdict.summary()}", width))
        lines += _verdict_lines(cls.verdict, seen, width)
    hidden = len(result.classes) - MAX_CLASSES
    if hidden > 0:
        lines.append(clip(f"  and {hidden} more port classes: {verdict_command(result.probe)} "
                          "--json", width))
    notes = dict.fromkeys(n for c in result.classes for n in c.verdict.notes)
    lines += [clip(f"note: {note}", width) for note in notes]
    lines += [clip(f"note: {note}", width) for note in ruleset_notes]
    return "\n".join(lines)


def _verdict_lines(verdict: PacketVerdict, seen: set[str], width: int) -> list[str]:
    lines: list[str] = []
    if verdict.decision is not Decision.DEPENDS:
        outcome = verdict.outcomes[0] if verdict.outcomes else None
        if outcome is None:
            return lines
        label = outcome.decision.value.upper()
        lines.append(clip(f"    {label} by {outcome.deciding.label}: {outcome.deciding.text}",
                          width))
        for step in outcome.path[:MAX_STEPS]:
            lines.append(clip(f"      {step.render()}", width))
        if len(outcome.path) > MAX_STEPS:
            lines.append(f"      ... {len(outcome.path) - MAX_STEPS} more steps (--json)")
        return lines
    ways: dict[tuple[Decision, str], str] = {}
    texts: dict[str, str] = {}
    for outcome in verdict.outcomes:
        ways.setdefault((outcome.decision, outcome.deciding.label), outcome.route())
        texts.setdefault(outcome.deciding.label, outcome.deciding.text)
    for (decision, label), route in list(ways.items())[:MAX_WAYS]:
        lines.append(clip(f"    {decision.value.upper()} by {label}: {texts[label]}", width))
        if route:
            lines.append(clip(f"      via {route}", width))
    if len(ways) > MAX_WAYS:
        lines.append(f"    ... {len(ways) - MAX_WAYS} more deciding rules (--json)")
    unknowns = verdict.unknown_lines(width - 13)
    fresh = [line for line in unknowns if line not in seen]
    for line in fresh[:MAX_UNKNOWNS]:
        lines.append(f"    unknown: {line}")
        seen.add(line)
    if len(fresh) > MAX_UNKNOWNS:
        lines.append(f"    ... {len(fresh) - MAX_UNKNOWNS} more unknowns (--json)")
    if len(fresh) < len(unknowns):
        lines.append(f"    unknown: {len(unknowns) - len(fresh)} as listed above")
    return lines
