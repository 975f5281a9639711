"""The console with the dashboard as its first screen, fed from a given PbxState.

Mirrors the wiring the app gets (a `live` attribute with `.state` and `.problems`, the
dashboard mode), without connecting: tests feed the model themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.message import AmiMessage, parse_block, parse_stream
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.model.state import PbxState
from trunkconsole.settings import AmiTarget, Secret, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.dashboard import DashboardScreen

RECORDED = Path(__file__).parent.parent / "fixtures" / "ami" / "lab-calls.raw"
RTCP = Path(__file__).parent.parent / "fixtures" / "rtcp-sent-packet-loss.json"
NOW = 1795666500.0


@dataclass
class StaticLive:
    """A LiveSource double: the state tests feed, and problems to show."""

    state: PbxState
    problems: list[str] = field(default_factory=list)
    server_info: ServerInfo | None = None
    loading: str = ""  # what a resync would be reading

    async def close(self) -> None:
        """Nothing to close: no connection behind the double."""


class DashboardApp(TrunkConsoleApp, inherit_bindings=False):
    """Only Quit from the app's keys: the snapshots must not change with other screens' keys."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="quit")]
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        **TrunkConsoleApp.MODES, "dashboard": lambda: DashboardScreen(watch_bans=False)}

    def __init__(self, live: Any, *, connect: bool = False,
                 settings: Settings | None = None) -> None:
        super().__init__(settings or Settings(ami=AmiTarget(secret=Secret("s"))),
                         connect=connect)
        self.live = live

    def on_mount(self) -> None:
        # Textual also runs TrunkConsoleApp.on_mount (handlers run along the MRO), which
        # switches to its default mode: switch to the dashboard after that.
        self.call_after_refresh(self.switch_mode, "dashboard")


def msg(text: str) -> AmiMessage:
    message = parse_block(text.replace("\n", "\r\n"))
    assert message is not None
    return message


def populated_state(now: float = NOW) -> PbxState:
    """The recorded lab stream, two more trunks, and one call whose caller ID has markup."""
    state = PbxState(clock=lambda: now)
    for message in parse_stream(RECORDED.read_bytes()):
        state.apply(message)
    for name, address, rtt in (("backup", "198.51.100.7", "45000"),
                               ("alpha", "192.0.2.20", "")):
        state.apply(msg(f"Event: EndpointList\nObjectName: {name}\nAor: {name}\nAuths: \n"
                        f"Contacts: {name}/sip:{address}:5060,\nDeviceState: Not in use"))
        state.apply(msg(f"Event: EndpointDetail\nObjectName: {name}\nAors: {name}\n"
                        f"Context: from-{name}\nTransport: transport-udp"))
        state.apply(msg(f"Event: IdentifyDetail\nObjectName: {name}\nEndpoint: {name}\n"
                        f"Match: {address}/255.255.255.255"))
        status = "Reachable" if rtt else "Unreachable"
        state.apply(msg(f"Event: ContactStatusDetail\nAOR: {name}\nURI: sip:{address}:5060\n"
                        f"Status: {status}\nRoundtripUsec: {rtt or 'N/A'}\n"
                        f"EndpointName: {name}\nRegExpire: 0"))
        state.apply(msg("Event: EndpointDetailComplete\nEventList: Complete"))
    state.apply(msg("Event: Newchannel\nChannel: PJSIP/carrier-0000000a\nChannelState: 4\n"
                    "ChannelStateDesc: Ring\nCallerIDNum: 0612345678\n"
                    "CallerIDName: [red]x[/b]\nContext: inbound-provider\n"
                    "Exten: 15551230001\nUniqueid: 1795666470.10\nLinkedid: 1795666470.10"))
    state.apply(msg("Event: Newstate\nChannel: PJSIP/carrier-0000000a\nChannelState: 6\n"
                    "ChannelStateDesc: Up\nUniqueid: 1795666470.10"))
    # Its RTCP: the real reports of `lab scenario packet-loss` (8% lost from the provider).
    for fields in json.loads(RTCP.read_text()):
        state.apply(AmiMessage(fields | {"channel": "PJSIP/carrier-0000000a",
                                         "uniqueid": "1795666470.10"}))
    return state


def frozen(app: DashboardApp, now: float = NOW) -> DashboardApp:
    app.wall_clock = lambda: now
    app.clock = lambda: 100.0
    app.ami_status = Status(State.CONNECTED)
    app.server_info = ServerInfo("22.10.1", "11.0.0", "", 3723.0, 100.0)
    return app
