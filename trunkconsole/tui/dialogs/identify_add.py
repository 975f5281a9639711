"""Add a provider address to a trunk's identify: a small form, then the review screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from trunkconsole.changes.addresses import parse_provider_address
from trunkconsole.changes.firewall_note import sip_firewall_note
from trunkconsole.changes.identify import plan_identify_add
from trunkconsole.errors import OperatorError
from trunkconsole.tui.dialogs.review import ReviewScreen
from trunkconsole.tui.plain import plain, plain_lines

if TYPE_CHECKING:
    from trunkconsole.tui.app import TrunkConsoleApp


class IdentifyAddDialog(ModalScreen[None]):
    """Trunk, address, force; Enter builds the change and opens its review."""

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

    def __init__(self, trunks: list[str], *, trunk: str | None = None, address: str = "",
                 why: str = "") -> None:
        super().__init__()
        self.trunks = trunks
        self.trunk = trunk if trunk in trunks else (trunks[0] if trunks else None)
        self.address = address
        self.why = why

    def compose(self) -> ComposeResult:
        with VerticalGroup():
            yield Static(Text("Add a provider address to a trunk's identify", style="bold"))
            yield Static(plain_lines(self.why), id="identify-why", markup=False)
            yield Label("Trunk")
            yield Select([(plain(t), t) for t in self.trunks], value=self.trunk or Select.NULL,
                         allow_blank=not self.trunks, id="identify-trunk")
            yield Label("Address (IP, network, IP/mask or hostname; optional :port)")
            yield Input(self.address, placeholder="203.0.113.12", id="identify-address")
            yield Checkbox("Allow a range larger than /16", id="identify-force")
            yield Static(id="identify-error", markup=False)
            with Horizontal():
                yield Button("Review change", variant="primary", id="identify-review")
                yield Button("Cancel", id="identify-cancel-button")

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#identify-cancel-button")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#identify-address")
    @on(Button.Pressed, "#identify-review")
    def _review(self) -> None:
        app: TrunkConsoleApp = self.app  # type: ignore[assignment]
        error = self.query_one("#identify-error", Static)
        trunk = self.query_one("#identify-trunk", Select).value
        text = self.query_one("#identify-address", Input).value
        force = self.query_one("#identify-force", Checkbox).value
        try:
            if not isinstance(trunk, str):
                raise OperatorError("choose a trunk")
            address = parse_provider_address(text, force=force)
            plan = plan_identify_add(app.settings.asterisk_dir, trunk, address)
            note = sip_firewall_note(address)
            if note:
                plan.changeset.notes.append(note)
        except OperatorError as exc:
            error.update(plain_lines(exc.render()))
            return
        self.dismiss(None)
        app.push_screen(ReviewScreen(plan.changeset))
