"""The status bar: AMI target, connection state, Asterisk version, uptime, read-only."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.server_info import ServerInfo, format_uptime
from trunkconsole.visible import visible

STATE_STYLE = {
    State.CONNECTED: "bold green",
    State.CONNECTING: "yellow",
    State.RECONNECTING: "bold yellow",
    State.FAILED: "bold red",
    State.CLOSED: "dim",
}


def status_text(address: str, status: Status, info: ServerInfo | None, readonly: bool,
                now: float, loading: str = "") -> Text:
    """One line; every value goes in as Text, never markup. `loading`: what the resync
    under way reads (it runs once logged in, before the connection reports CONNECTED:
    the trunk rows already show, so the bar says connected and what is still read)."""
    text = Text()
    text.append(" AMI ", style="bold")
    text.append(visible(address))
    text.append("  ")
    if loading:
        text.append("connected", style=STATE_STYLE[State.CONNECTED])
        text.append(visible(f", loading {loading}"), style="yellow")
    else:
        text.append(visible(status.state.value), style=STATE_STYLE[status.state])
    if status.state is State.RECONNECTING and status.retry_in and not loading:
        text.append(visible(f" (retry in {status.retry_in:.1f} s)"), style="yellow")
    if info is not None and (status.state is State.CONNECTED or loading):
        text.append("  Asterisk ")
        text.append(visible(info.asterisk_version), style="bold")
        text.append("  up ")
        text.append(visible(format_uptime(info.uptime(now))))
    if readonly:
        text.append("  READ-ONLY", style="bold reverse")
    return text


class StatusBar(Static):
    """Shown on every screen; the app updates it on its refresh tick."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    @dataclass
    class Mounted(Message):
        """A status bar appeared: the app fills it at once, not on its next tick."""

        bar: StatusBar

    def on_mount(self) -> None:
        self.post_message(self.Mounted(self))

    _shown: tuple[object, ...] | None = None  # what the text below was made from
    _text: Text | None = None

    def show(self, address: str, status: Status, info: ServerInfo | None,
             readonly: bool, now: float, *, loading: str = "") -> None:
        """Redraw only when what it says changed (the app's tick calls this three times a
        second: the uptime moves once a second), and without a layout pass: the bar is
        one docked line whatever it says (a layout of the whole screen costs more than
        everything else at idle)."""
        uptime = int(info.uptime(now)) if info is not None else None
        shown = (address, status, info, readonly, uptime, loading)
        if shown == self._shown:
            return
        self._shown = shown
        text = status_text(address, status, info, readonly, now, loading)
        if self._text is not None and text.plain == self._text.plain \
                and text.spans == self._text.spans:
            return
        self._text = text
        self.update(text, layout=False)
