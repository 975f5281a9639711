"""A full-screen report of one live object (a trunk, a channel), redrawn on every tick."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from trunkconsole.model.state import PbxState
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import StatusBar


class LiveDetailScreen(LiveScreen):
    """Opened with Enter on a dashboard row; Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail-back"),
    ]
    DETAIL_ID: ClassVar[str] = "detail"

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with VerticalScroll():
            yield Static(id=self.DETAIL_ID, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_live()

    def report(self, state: PbxState, now: float) -> RenderableType:
        raise NotImplementedError

    def refresh_live(self) -> None:
        live = self.app.live
        detail = self.query(f"#{self.DETAIL_ID}")  # empty until composed (a tick can come first)
        if live is not None and detail:
            detail.first(Static).update(self.report(live.state, self.app.wall_clock()))
