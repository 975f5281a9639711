"""Add a provider address to a trunk's identify: a small form, then the review screen."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from trunkconsole.changes.identify import IdentifyPlan
from trunkconsole.changes.identify_review import plan_identify_add_reviewed
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.review import ReviewScreen
from trunkconsole.tui.plain import plain, plain_lines


class IdentifyAddDialog(ModalScreen[None]):
    """Trunk, address, force; Enter builds the change and opens its review.

    Opened from a fix (trunk and address proposed), the primary button has the focus:
    Enter reviews, and Enter again applies (ReviewScreen).
    """

    app = getters.app(TrunkConsoleApp)
    DEFAULT_CSS = """
    IdentifyAddDialog { align: center middle; }
    IdentifyAddDialog > VerticalGroup {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 2;
    }
    IdentifyAddDialog #identify-error { color: $text-error; height: auto; }
    IdentifyAddDialog #identify-why { color: $text-muted; height: auto; margin-bottom: 1; }
    IdentifyAddDialog Horizontal { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_dialog", "Cancel", id="identify-cancel"),
    ]

    def __init__(self, trunks: list[str],
                 proposal: AddProviderAddress | None = None) -> None:
        super().__init__()
        proposal = proposal or AddProviderAddress()
        self.trunks = trunks
        self.trunk = proposal.trunk if proposal.trunk in trunks else (
            trunks[0] if len(trunks) == 1 else None)
        self.address = proposal.address
        self.why = proposal.why

    def compose(self) -> ComposeResult:
        with VerticalGroup():
            yield Static(Text("Add a provider address to a trunk's identify", style="bold"))
            yield Static(plain_lines(self.why), id="identify-why", markup=False)
            yield Label("Trunk")
            yield Select([(plain(t), t) for t in self.trunks], value=self.trunk or Select.NULL,
                         allow_blank=self.trunk is None, id="identify-trunk")
            yield Label("Address (IP, network, IP/mask or hostname; optional :port)")
            yield Input(self.address, placeholder="203.0.113.12", id="identify-address")
            yield Checkbox("Allow a range larger than /16", id="identify-force")
            yield Static(id="identify-error", markup=False)
            with Horizontal():
                yield Button("Review change", variant="primary", id="identify-review")
                yield Button("Cancel", id="identify-cancel-button")

    def on_mount(self) -> None:
        # Everything proposed: the primary action. Otherwise the first field to fill.
        if self.trunk is None:
            self.query_one("#identify-trunk", Select).focus()
        elif not self.address:
            self.query_one("#identify-address", Input).focus()
        else:
            self.query_one("#identify-review", Button).focus()

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#identify-cancel-button")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#identify-address")
    @on(Button.Pressed, "#identify-review")
    def _review(self) -> None:
        trunk = self.query_one("#identify-trunk", Select).value
        text = self.query_one("#identify-address", Input).value
        force = self.query_one("#identify-force", Checkbox).value
        if not isinstance(trunk, str):
            self.query_one("#identify-error", Static).update(Text("choose a trunk"))
            return
        self._plan(trunk, text, force)

    @work(exclusive=True, group="identify-plan", exit_on_error=False)
    async def _plan(self, trunk: str, text: str, force: bool) -> None:
        # A config parse and nft/iptables-save: in a thread, never in the handler.
        app = self.app

        def plan() -> IdentifyPlan:
            address = parse_provider_address(text, force=force)
            return plan_identify_add_reviewed(app.settings.asterisk_dir, trunk, [address])

        try:
            result = await asyncio.to_thread(plan)
        except OperatorError as exc:
            self.query_one("#identify-error", Static).update(plain_lines(exc.render()))
            return
        self.dismiss(None)
        app.push_screen(ReviewScreen(result.changeset))
