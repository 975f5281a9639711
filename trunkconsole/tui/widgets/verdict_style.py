"""Verdict colours from the active theme, for Rich renderables (DataTable cells, Text).

Cells are Rich renderables, so `$trunk-up` does not resolve inside them: the colours are
looked up in `app.theme_variables` and rebuilt when the theme changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError

from trunkconsole.findings import Severity
from trunkconsole.net.text import MARK, PARTLY, rtp_mark
from trunkconsole.net.verdict import Decision, PacketVerdict, RangeVerdict
from trunkconsole.tui.plain import plain

GLYPH = {Decision.ACCEPT: "✓", Decision.DROP: "✗", Decision.DEPENDS: "?"}


def _theme_style(app: App[object], name: str, fallback: str, *, bold: bool = False) -> Style:
    value = app.theme_variables.get(name, fallback)
    try:
        color = Color.parse(value).rich_color
    except ColorParseError:
        color = Color.parse(fallback).rich_color
    return Style(color=color, bold=bold)


@dataclass(frozen=True)
class VerdictStyles:
    """Green, red, amber and muted, as the theme defines them ($trunk-up and friends)."""

    accept: Style
    drop: Style
    depends: Style
    muted: Style

    @classmethod
    def from_app(cls, app: App[Any]) -> VerdictStyles:
        return cls(_theme_style(app, "trunk-up", "green"),
                   _theme_style(app, "trunk-down", "red", bold=True),
                   _theme_style(app, "trunk-unknown", "yellow"),
                   Style(dim=True))  # $text-muted is "auto 60%", not a colour

    def of(self, decision: Decision) -> Style:
        return {Decision.ACCEPT: self.accept, Decision.DROP: self.drop,
                Decision.DEPENDS: self.depends}[decision]

    def of_severity(self, severity: Severity) -> Style:
        return {Severity.CRITICAL: self.drop, Severity.WARNING: self.depends,
                Severity.INFO: self.muted}[severity]

    def sip_cell(self, verdict: PacketVerdict) -> Text:
        """`✓ ok` / `✗ BLOCKED` / `? depends`, coloured."""
        return plain(f"{GLYPH[verdict.decision]} {MARK[verdict.decision]}",
                     style=self.of(verdict.decision))

    def rtp_cell(self, rtp: RangeVerdict) -> Text:
        """As sip_cell; `✗ PARTLY` (red: calls lose audio on those ports) when part of the
        range is dropped."""
        mark = rtp_mark(rtp)
        if mark == PARTLY:
            return plain(f"{GLYPH[Decision.DROP]} {mark}", style=self.drop)
        return plain(f"{GLYPH[rtp.decision]} {mark}", style=self.of(rtp.decision))

    def unchecked(self, why: str) -> Text:
        return plain(f"- {why}", style=self.muted)
