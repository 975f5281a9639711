"""New IP-authenticated trunk: one form, then the review screen with the whole diff."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from trunkconsole.changes.trunk import TrunkSpec, plan_trunk_add
from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.review import ReviewScreen
from trunkconsole.tui.plain import plain, plain_lines

FIELDS = (
    ("name", "Trunk name", "carrier2"),
    ("ips", "Provider signaling IPs (comma separated; the first is qualified)", "203.0.113.20"),
    ("dids", "DIDs (comma separated, optional)", "15551230001"),
    ("from_user", "From user for caller ID (optional)", ""),
    ("from_domain", "From domain (optional)", ""),
    ("codecs", "Codecs", "ulaw,alaw"),
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class TrunkAddDialog(ModalScreen[None]):
    """The new-trunk wizard."""

    app = getters.app(TrunkConsoleApp)
    DEFAULT_CSS = """
    TrunkAddDialog { align: center middle; }
    TrunkAddDialog > VerticalScroll {
        width: 80; height: 90%; border: thick $primary; background: $surface; padding: 0 2;
    }
    TrunkAddDialog Label { margin-top: 0; }
    TrunkAddDialog #trunk-error { color: $text-error; height: auto; margin-top: 1; }
    TrunkAddDialog Horizontal { height: auto; margin: 1 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_dialog", "Cancel", id="trunk-cancel"),
    ]

    def __init__(self, contexts: list[str]) -> None:
        super().__init__()
        self.contexts = contexts

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("New IP-authenticated trunk", style="bold"))
            for key, label, placeholder in FIELDS:
                yield Label(label)
                value = "ulaw,alaw" if key == "codecs" else ""
                yield Input(value, placeholder=placeholder, id=f"trunk-{key}")
            yield Label("DIDs go to context")
            yield Select([(plain(c), c) for c in self.contexts], id="trunk-route")
            yield Static(id="trunk-error", markup=False)
            with Horizontal():
                yield Button("Review change", variant="primary", id="trunk-review")
                yield Button("Cancel", id="trunk-cancel-button")

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#trunk-cancel-button")
    def _cancel(self) -> None:
        self.dismiss(None)

    def _value(self, key: str) -> str:
        return self.query_one(f"#trunk-{key}", Input).value

    @on(Button.Pressed, "#trunk-review")
    def _review(self) -> None:
        route = self.query_one("#trunk-route", Select).value
        try:
            spec = TrunkSpec(
                name=self._value("name").strip(),
                provider_ips=[parse_provider_address(a) for a in _split(self._value("ips"))],
                dids=_split(self._value("dids")),
                route_to=route if isinstance(route, str) else "",
                codecs=_split(self._value("codecs")),
                from_user=self._value("from_user").strip(),
                from_domain=self._value("from_domain").strip(),
            )
        except OperatorError as exc:
            self.query_one("#trunk-error", Static).update(plain_lines(exc.render()))
            return
        self._plan(spec)

    @work(exclusive=True, group="trunk-plan", exit_on_error=False)
    async def _plan(self, spec: TrunkSpec) -> None:
        app = self.app
        try:  # a config parse: in a thread, never in the button handler
            changeset = await asyncio.to_thread(plan_trunk_add, app.settings.asterisk_dir, spec)
        except OperatorError as exc:
            self.query_one("#trunk-error", Static).update(plain_lines(exc.render()))
            return
        self.dismiss(None)
        app.push_screen(ReviewScreen(changeset))
