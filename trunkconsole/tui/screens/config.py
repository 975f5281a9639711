"""The config screen: trunks with every value and where it came from, findings beside them.

Left: trunks (endpoint + aor + auth + identify + registration). Right: each object's
options with file:line and the template they were inherited from, then the lint's
findings for that trunk. Data comes from the core (pjsip.trunks, pjsip.lint); this
screen only renders it, as rich Text (values are operator-written, never markup).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from trunkconsole.findings import Finding, Severity
from trunkconsole.masking import shown_value
from trunkconsole.pjsip.freepbx import CUSTOM_MARK, custom_values
from trunkconsole.pjsip.system import AsteriskConfig
from trunkconsole.pjsip.trunks import TrunkGroup, trunk_groups
from trunkconsole.tui.plain import plain
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.visible import visible, visible_lines

SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow",
                  Severity.INFO: "dim"}


# Narrower than this, the detail pane shows each value's origin on a line of its own.
ORIGIN_BESIDE_WIDTH = 72


def render_group(group: TrunkGroup, custom: frozenset[str] | None = None,
                 width: int = ORIGIN_BESIDE_WIDTH) -> Group:
    """The detail pane for one trunk; custom: on FreePBX, the files it does not generate."""
    parts: list[Table | Text] = []
    for obj in group.objects():
        title = plain(f"{obj.type} {obj.id}", style="bold")
        title.append(visible(f"  {obj.file}:{obj.line}"), style="dim")
        if obj.wizard:
            title.append(visible(f"  (wizard {obj.wizard})"), style="dim")
        if not obj.loaded:
            title.append(visible("  REJECTED: " + "; ".join(obj.rejected)), style="bold red")
        table = Table(title=title, title_justify="left", show_header=False, box=None,
                      padding=(0, 2))
        beside = width >= ORIGIN_BESIDE_WIDTH
        lines: list[Text] = []
        table.add_column(no_wrap=True)
        table.add_column(min_width=12, overflow="fold")
        if beside:  # a long origin ("overridden by ...") wraps, the value keeps its room
            table.add_column(style="dim")
        for option in obj.options:
            if option.key == "type":
                continue
            template = obj.template_of(option)
            origin = plain(f"{option.file}:{option.line}" + (f" ({template})" if template else ""))
            winner = obj.overridden_by(option)
            if winner is not None:
                origin.append(visible(f"  overridden by {winner.file}:{winner.line}"),
                              style="yellow")
            losers = obj.overrides(option)
            if losers:
                origin.append(visible("  wins over " + ", ".join(
                    f"{o.file}:{o.line}" for o in losers)), style="green")
            if custom and option.file in custom:
                origin.append(visible(f"  {CUSTOM_MARK}"), style="cyan")
            value = plain(shown_value(option.name, option.value, option.file))
            if beside:
                table.add_row(plain(option.name), value, origin)
            else:  # name = value, and below it the origin across the whole pane
                origin.stylize("dim")
                lines.append(Text.assemble("  ", plain(option.name), " = ", value,
                                           "\n    ", origin))
        parts.append(table if beside else Text("\n").join([title, *lines]))
    if group.findings:
        parts.append(Text("Findings", style="bold"))
        for finding in sorted(group.findings, key=lambda f: -f.severity):
            line = plain(f"{finding.severity.name:8} ", style=SEVERITY_STYLE[finding.severity])
            line.append(visible(finding.title))
            for evidence in finding.evidence:
                if evidence.file:
                    line.append(visible_lines(f"\n         {evidence.location()}"), style="dim")
            if finding.fix:
                line.append(visible_lines(f"\n         fix: {finding.fix}"), style="green")
            parts.append(line)
    return Group(*parts)


class ConfigScreen(LiveScreen):
    """Trunks from the config files, values with origins, lint findings beside them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload_config", "Re-read files", id="config-reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[TrunkGroup] = []
        self.custom: frozenset[str] | None = None  # FreePBX: files it does not generate
        self.shown = 0  # the group in the detail pane

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with Horizontal():
            yield OptionList(id="config-trunks")
            with VerticalScroll(id="config-detail-scroll"):
                yield Static(id="config-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload_config()

    def action_reload_config(self) -> None:
        """Read the config directory again and rebuild the list."""
        self._reload()

    @work(exclusive=True, group="config-read", exit_on_error=False)
    async def _reload(self) -> None:
        from trunkconsole.pjsip.lint import config_findings

        app = self.app

        def read() -> tuple[AsteriskConfig | None, list[Finding]]:
            system = app.asterisk_config()
            return system, config_findings(system) if system is not None else []

        system, findings = await asyncio.to_thread(read)  # a parse and lint: off the loop
        options = self.query_one("#config-trunks", OptionList)
        options.clear_options()
        if system is None:
            self.groups = []
            self.query_one("#config-detail", Static).update(
                plain(f"cannot read {app.settings.asterisk_dir}", style="bold red"))
            return
        self.custom = custom_values(list(system.documents.by_path.values()))
        groups = trunk_groups(system.pjsip, findings)
        self.groups = sorted(groups, key=lambda g: (not g.is_trunk, g.name))
        for group in self.groups:
            label = plain(group.name)
            worst = max((f.severity for f in group.findings), default=None)
            if worst is not None:
                label.append(" !", style=SEVERITY_STYLE[worst])
            options.add_option(Option(label, id=group.name))
        if self.groups:
            options.highlighted = 0
            self.show(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option_index)

    def show(self, index: int) -> None:
        if 0 <= index < len(self.groups):
            self.shown = index
            width = self.query_one("#config-detail-scroll", VerticalScroll).size.width
            self.query_one("#config-detail", Static).update(
                render_group(self.groups[index], self.custom, width or ORIGIN_BESIDE_WIDTH))

    def on_resize(self) -> None:
        self.call_after_refresh(self.show, self.shown)  # origins beside or below the values
