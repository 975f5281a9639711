"""Pre-flight from the trunk detail: a number, a caller ID, then the provider's answer."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from trunkconsole.calls.preflight import run_preflight
from trunkconsole.changes.sip_logger import state_file_for
from trunkconsole.errors import OperatorError
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.visible import visible


class PreflightDialog(ModalScreen[None]):
    """Enter runs the call (cancelled at the first 180/183); Escape closes."""

    app = getters.app(TrunkConsoleApp)
    DEFAULT_CSS = """
    PreflightDialog { align: center middle; }
    PreflightDialog > VerticalGroup {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 2;
    }
    PreflightDialog #preflight-result { height: auto; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Close", id="preflight-close"),
    ]

    def __init__(self, trunk: str) -> None:
        super().__init__()
        self.trunk = trunk

    def compose(self) -> ComposeResult:
        with VerticalGroup():
            yield Static(plain(f"Pre-flight: one outbound call through trunk {self.trunk}, "
                               "cancelled at the first ring (nothing billed)", style="bold"))
            yield Label("Number to call")
            yield Input(placeholder="e.g. 15550001111", id="preflight-number")
            yield Label("Caller ID (empty: the dialplan's)")
            yield Input(placeholder="e.g. 15551230000", id="preflight-callerid")
            yield Static(Text("Enter runs it", style="dim"), id="preflight-result",
                         markup=False)

    @on(Input.Submitted)
    def _submitted(self, _event: Input.Submitted) -> None:
        self._run()

    @work(exclusive=True, group="preflight", exit_on_error=False)
    async def _run(self) -> None:
        out = self.query_one("#preflight-result", Static)
        number = self.query_one("#preflight-number", Input).value.strip()
        caller_id = self.query_one("#preflight-callerid", Input).value.strip()
        app = self.app
        ami = app.ami_actions()
        try:
            if app.settings.readonly:
                raise OperatorError("read-only mode: no pre-flight call")
            if ami is None:
                raise OperatorError("AMI is not connected")
            out.update(plain(f"calling {number} through {self.trunk} ...", style="yellow"))
            result = await run_preflight(
                ami, self.trunk, number, caller_id,
                state_file_for(f"preflight-{app.settings.ami.address}"),
                config_dir=Path(app.settings.asterisk_dir), target=app.settings.ami)
        except OperatorError as exc:
            out.update(plain_lines(exc.render(), style="bold red"))
            return
        style = "bold green" if result.ok else "bold red"
        lines = result.lines()
        text = plain(lines[0], style=style)
        for line in lines[1:]:
            text.append("\n")
            text.append(visible(line))
        out.update(text)
