"""Why one provider address gets in or not: path, deciding rule, assumptions, what to change.

The suggested change is text to copy (a read-only TextArea, `c` copies it through the
terminal); nothing here touches the firewall (DESIGN.md: only changes/ writes).
Rule text, comments and provider names are operator- or attacker-written: Text only.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from trunkconsole.findings import Finding
from trunkconsole.net.report import NetworkReport, ProviderRow
from trunkconsole.net.text import MARK, rtp_mark, verdict_command
from trunkconsole.net.verdict import Decision, PacketVerdict
from trunkconsole.tui.plain import plain
from trunkconsole.tui.widgets.host_facts import ROW_CODES, row_subject
from trunkconsole.tui.widgets.verdict_style import GLYPH, VerdictStyles
from trunkconsole.visible import visible, visible_lines

MAX_WAYS = 4  # undecidable rules fork the walk; ufw's conntrack matches give dozens of ways


def row_findings(report: NetworkReport, row: ProviderRow) -> list[Finding]:
    subject = row_subject(row.address.provider, row.address.address)
    return [f for f in report.findings if f.code in ROW_CODES and f.subject == subject]


def _verdict(text: Text, verdict: PacketVerdict, styles: VerdictStyles, indent: str) -> None:
    """The probe, then each way through the rules: decision, deciding rule, path, assumptions."""
    text.append(visible_lines(f"{indent}{verdict.probe.describe()}\n"), style=styles.muted)
    ways = verdict.outcomes
    for number, outcome in enumerate(ways[:MAX_WAYS], 1):
        word = "accepted" if outcome.decision is Decision.ACCEPT else "dropped"
        head = plain(indent)
        if len(ways) > 1:
            head.append(visible(f"way {number} of {len(ways)}: "))
        head.append(visible(f"{word} by "), style=styles.of(outcome.decision))
        head.append(visible(outcome.deciding.label), style=styles.of(outcome.decision))
        text.append_text(head)
        text.append(visible_lines(f"\n{indent}  rule: "), style=styles.muted)
        text.append(visible(outcome.deciding.text))
        if outcome.path:
            text.append(visible_lines(f"\n{indent}  path:"), style=styles.muted)
            for step_number, step in enumerate(outcome.path, 1):
                text.append(visible_lines(f"\n{indent}   {step_number:>2}. {step.render()}"))
        for assumption in outcome.assumptions:
            text.append(visible_lines(f"\n{indent}  assumes "), style=styles.depends)
            text.append(visible(assumption))
        for note in outcome.notes:
            if note not in verdict.notes:
                text.append(visible_lines(f"\n{indent}  note: "), style=styles.muted)
                text.append(visible(note))
        text.append("\n")
    if len(ways) > MAX_WAYS:
        text.append(visible_lines(f"{indent}and {len(ways) - MAX_WAYS} more ways; all of them: "
                                  f"{verdict_command(verdict.probe)} --json\n"),
                    style=styles.muted)
    for note in verdict.notes:
        text.append(visible(f"{indent}note: "), style=styles.muted)
        text.append(visible_lines(f"{note}\n"))


def _new_section(text: Text, title: str) -> None:
    """One blank line before a section, however the previous one ended."""
    text.append("\n" if text.plain.endswith("\n") else "\n\n")
    text.append(visible(title), style="bold")


def explain_row(report: NetworkReport, row: ProviderRow, styles: VerdictStyles) -> Text:
    """Everything the rules say about one provider address."""
    text = Text()
    text.append(visible(row.address.provider), style="bold")
    text.append(visible(f"  {row.address.address}"), style="bold")
    where = " ".join(p for p in (row.address.origin, row.address.location) if p)
    if where:
        text.append(visible_lines(f"\n{where}"), style=styles.muted)
    if row.iif:
        text.append(visible_lines(f"\narrives on {row.iif}"))
    if row.note:
        text.append("\nnote: ", style=styles.depends)
        text.append(visible(row.note))
    if report.firewall_error:
        _new_section(text, "")
        text.append("firewall not checked\n", style=styles.drop)
        text.append(visible_lines(report.firewall_error))
    for name, verdict in row.sip.items():
        _new_section(text, f"SIP {name}  ")
        text.append(visible(f"{GLYPH[verdict.decision]} {MARK[verdict.decision]}"),
                    style=styles.of(verdict.decision))
        text.append("\n")
        _verdict(text, verdict, styles, "  ")
    if row.rtp is not None:
        probe = row.rtp.probe
        _new_section(text, f"RTP {probe.ports_text()}  ")
        text.append_text(styles.rtp_cell(row.rtp))
        for port_class in row.rtp.classes:
            verdict = port_class.verdict
            text.append(visible_lines(f"\n  {port_class.ports()}  "))
            text.append(visible(f"{GLYPH[verdict.decision]} {MARK[verdict.decision]}"),
                        style=styles.of(verdict.decision))
            text.append("\n")
            _verdict(text, verdict, styles, "    ")
    return text


def suggested_change(report: NetworkReport, row: ProviderRow) -> str:
    """What to change, as lines to copy: the fixes the report suggests, then how to re-check."""
    lines = [f"# {row.address.provider} {row.address.address}: what to change "
             "(nothing is applied)"]
    if report.firewall_error:
        lines += ["# the firewall was not read:"]
        lines += [f"#   {line.strip()}" for line in report.firewall_error.splitlines()]
    if row.note:
        lines.append(f"# {row.note}")
    for finding in row_findings(report, row):
        if finding.fix:
            lines += [f"# {finding.title}", finding.fix]
    for name, verdict in row.sip.items():
        if verdict.decision is Decision.DEPENDS:
            lines.append(f"# SIP {name} depends on what the rules cannot decide here (the "
                         "assumptions above): no single rule to change; settle them, then ask:")
        elif verdict.decision is Decision.DROP:
            lines.append(f"# after the change, SIP {name} should be accepted:")
        else:
            continue
        lines.append(verdict_command(verdict.probe))
    if row.rtp is not None and row.rtp.decision is not Decision.ACCEPT:
        mark = rtp_mark(row.rtp)
        lines.append(f"# RTP {mark}: ask again for the whole range with:")
        lines.append(verdict_command(row.rtp.probe))
    if len(lines) == 1 and row.sip:
        lines.append("# nothing to change: SIP and RTP from this address are accepted")
    # A TextArea draws its text as it is: names from the config and the rules' text are
    # untrusted, so the lines to copy show every control as an escape too.
    return visible_lines("\n".join(lines))


class VerdictDetailDialog(ModalScreen[None]):
    """The path through the rules for one provider address, and the change to copy."""

    DEFAULT_CSS = """
    VerdictDetailDialog { align: center middle; }
    VerdictDetailDialog > #verdict-box {
        width: 96%; max-width: 140; height: 92%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    VerdictDetailDialog #verdict-why { height: 1fr; }
    VerdictDetailDialog #verdict-fix-title { margin-top: 1; text-style: bold; }
    VerdictDetailDialog #verdict-fix { height: auto; max-height: 35%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="verdict-close"),
        Binding("c", "copy_fix", "Copy change", id="verdict-copy"),
    ]

    def __init__(self, report: NetworkReport, row: ProviderRow, styles: VerdictStyles) -> None:
        super().__init__()
        self.report = report
        self.row = row
        self.verdict_styles = styles
        self.fix = suggested_change(report, row)

    def compose(self) -> ComposeResult:
        with Vertical(id="verdict-box"):
            with VerticalScroll(id="verdict-why"):
                yield Static(explain_row(self.report, self.row, self.verdict_styles), markup=False,
                             id="verdict-text")
            yield Static(Text("What to change: copy it (c), nothing is applied"),
                         id="verdict-fix-title", markup=False)
            yield TextArea(self.fix, read_only=True, soft_wrap=True, id="verdict-fix",
                           show_cursor=False)
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#verdict-box")
        box.border_title = plain(f"{self.row.address.provider} {self.row.address.address}")
        self.query_one("#verdict-why").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy_fix(self) -> None:
        """OSC 52 through the terminal; some terminals ignore it, so the text stays visible."""
        self.app.copy_to_clipboard(self.fix)
        self.notify("copied the suggested change (if your terminal allows OSC 52); "
                    "otherwise select it with the mouse", markup=False)
