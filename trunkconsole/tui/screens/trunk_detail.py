"""One trunk in detail: contacts with RTT, identifies, registrations, calls, recent hangups."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from trunkconsole.model.state import PbxState
from trunkconsole.model.views import trunk_summary
from trunkconsole.tui.plain import plain
from trunkconsole.tui.rows import STATUS_STYLE, caller_text, clock_text
from trunkconsole.tui.screens.live_detail import LiveDetailScreen
from trunkconsole.tui.widgets.sparkline import sparkline
from trunkconsole.visible import visible


def _table(title: str, *headers: str) -> Table:
    table = Table(title=plain(title, style="bold"), title_justify="left", expand=True,
                  show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(plain(header))
    return table


def trunk_report(state: PbxState, name: str, now: float) -> Group | Text:
    """The detail as Rich renderables; every AMI value goes in as Text."""
    endpoint = state.endpoints.get(name)
    if endpoint is None:
        return plain(f"Endpoint {name} is gone (removed by a reload or a restart).",
                     style="bold red")
    summary = trunk_summary(state, endpoint, now)
    head = Text()
    head.append(visible(endpoint.name), style="bold")
    head.append("  ")
    head.append(visible(summary.status), style=STATUS_STYLE.get(summary.status, ""))
    head.append(visible(f"  context {endpoint.context or '?'}"
                        f"  transport {endpoint.transport or '-'}"
                        f"  aors {', '.join(endpoint.aors) or '-'}"
                        f"  device {endpoint.device_state}"))
    contacts = _table("Contacts", "URI", "Status", "RTT", "History", "User agent")
    for contact in state.contacts_of(endpoint):
        rtt = f"{contact.rtt_ms:.1f}ms" if contact.rtt_ms is not None else "-"
        contacts.add_row(plain(contact.uri),
                         plain(contact.status, style=STATUS_STYLE.get(contact.status, "")),
                         plain(rtt), plain(sparkline(contact.rtt_history, 24), style="cyan"),
                         plain(contact.user_agent or ("static" if contact.static else "")))
    identifies = _table("Identifies (who may send calls in)", "Identify", "Matches",
                        "Header / Request-URI")
    for identify in endpoint.identifies.values():
        identifies.add_row(plain(identify.name), plain(", ".join(identify.matches) or "-"),
                           plain(identify.match_header or identify.match_request_uri or ""))
    registrations = _table("Outbound registrations", "Name", "Status", "Server", "Client")
    for reg_name in sorted(endpoint.registrations):
        reg = state.registrations.get(reg_name)
        if reg is not None:
            registrations.add_row(plain(reg.name), plain(reg.status), plain(reg.server_uri),
                                  plain(reg.client_uri))
    calls = _table("Calls now", "Channel", "State", "Caller", "DID", "Time")
    for channel in sorted(state.channels_of(endpoint), key=lambda c: c.order):
        calls.add_row(plain(channel.name), plain(channel.state), caller_text(channel),
                      plain(channel.did or channel.exten),
                      plain(clock_text(channel.duration(now))))
    hangups = _table("Recent hangups", "Ended", "Channel", "Cause", "DID", "Caller", "Lasted")
    for hangup in reversed(state.hangups_of(name)[-15:]):
        hangups.add_row(plain(time.strftime("%H:%M:%S", time.localtime(hangup.at))),
                        plain(hangup.channel), plain(hangup.describe()), plain(hangup.did),
                        plain(hangup.caller_num), plain(clock_text(hangup.duration)))
    parts: list[Table | Text] = [head, Text(), contacts, Text(), identifies]
    if endpoint.registrations:
        parts += [Text(), registrations]
    parts += [Text(), calls, Text(), hangups]
    return Group(*parts)


class TrunkDetailScreen(LiveDetailScreen):
    """Opened with Enter on a trunk row; Escape goes back; p places a pre-flight call."""

    DETAIL_ID = "trunk-detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        *LiveDetailScreen.BINDINGS,
        Binding("p", "preflight", "Pre-flight call", id="trunk-preflight"),
    ]

    def action_preflight(self) -> None:
        from trunkconsole.tui.dialogs.preflight import PreflightDialog

        self.app.push_screen(PreflightDialog(self.trunk))

    def __init__(self, name: str) -> None:
        super().__init__()
        self.trunk = name

    def report(self, state: PbxState, now: float) -> RenderableType:
        return trunk_report(state, self.trunk, now)
