"""The connection screen: which AMI, in what state and why, and what the PBX says."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from trunkconsole.ami.connection import State
from trunkconsole.ami.server_info import format_uptime
from trunkconsole.tui.plain import plain
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import STATE_STYLE, StatusBar


class ConnectionScreen(LiveScreen):
    """AMI target, state with its reason, Asterisk version and uptime."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.reconnect", "Reconnect", id="reconnect"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with VerticalScroll():
            yield Static(id="connection-details")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_live()

    def refresh_live(self) -> None:
        """Pull from the app on its refresh tick."""
        app = self.app
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        target = app.settings.ami
        table.add_row("AMI target", plain(f"{target.address} as {target.username}"))
        table.add_row("Secret from", plain(target.secret_source))
        status = app.ami_status
        table.add_row("State", plain(status.state.value, style=STATE_STYLE[status.state]))
        if status.reason and status.state is not State.CONNECTED:
            table.add_row("Reason", plain(status.reason))
        info = app.server_info
        if info is not None and status.state is State.CONNECTED:
            table.add_row("Asterisk", plain(info.asterisk_version))
            table.add_row("AMI version", plain(info.ami_version))
            table.add_row("Uptime", plain(format_uptime(info.uptime(app.clock()))))
        table.add_row("Asterisk configs", plain(str(app.settings.asterisk_dir)))
        for problem in app.live.problems if app.live is not None else []:
            table.add_row("Problem", plain(problem, style="yellow"))
        self.query_one("#connection-details", Static).update(table)
