"""The network screen: provider addresses against captured rulesets, the why-dialog, themes.

Reports come from tests/fixtures/net rulesets through gather_report(files=...), which never
reads the live firewall; host facts are hand-made so snapshots do not depend on this box.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, TextArea
from textual.widgets._footer import FooterKey

from trunkconsole.errors import OperatorError
from trunkconsole.net.collect import FirewallUnreadable
from trunkconsole.net.crosscheck import host_findings
from trunkconsole.net.gather import gather_report
from trunkconsole.net.host import HostAddress, HostFacts, RouteFact
from trunkconsole.net.pjsip_inputs import load_inputs
from trunkconsole.net.report import NetworkReport, build_report
from trunkconsole.net.sockets import ListeningSocket
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.verdict_detail import VerdictDetailDialog
from trunkconsole.tui.screens.network import NetworkScreen, ReportMaker

from .screen import visible_text

FIXTURES = Path(__file__).parent.parent / "fixtures"
RULES = FIXTURES / "net"
CONFIG = FIXTURES / "network-screen"
HOST = HostFacts(
    interfaces=["lo", "eth0"],
    addresses=[HostAddress("lo", "127.0.0.1", 8), HostAddress("eth0", "10.0.0.5", 24),
               HostAddress("eth0", "2001:db8::5", 64)],
    routes={"198.51.100.7": RouteFact("198.51.100.7", "eth0", "10.0.0.5", "10.0.0.1"),
            "192.0.2.110": RouteFact("192.0.2.110", "eth0", "10.0.0.5", "10.0.0.1")},
    sockets=[ListeningSocket("udp", "0.0.0.0", 5060, 1, 421, "asterisk"),
             ListeningSocket("tcp", "0.0.0.0", 5060, 2, 421, "asterisk")],
)


def from_rules(ruleset: Path, saves: tuple[Path, ...] = ()) -> ReportMaker:
    """A report maker on a captured ruleset, with HOST as the host facts."""

    def make(config_dir: Path) -> NetworkReport:
        report = gather_report(config_dir, files=(ruleset, list(saves)))
        report.host = HOST
        report.findings.extend(host_findings(load_inputs(config_dir), HOST))
        return report

    return make


def unreadable(config_dir: Path) -> NetworkReport:
    """What gather_report gives without CAP_NET_ADMIN (we may be root here)."""
    error = FirewallUnreadable("reading the firewall needs CAP_NET_ADMIN (root)",
                               evidence="Operation not permitted",
                               fix="run as root (sudo), or grant CAP_NET_ADMIN")
    return build_report(load_inputs(config_dir), None, HOST, None,
                        firewall_error=error.render())


def network_app(maker: ReportMaker, config_dir: Path = CONFIG,
                theme: str = "trunk-dark") -> TrunkConsoleApp:
    """The console opened on the network screen (through its mode, as F4 does)."""

    class NetworkApp(TrunkConsoleApp):
        MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
            **TrunkConsoleApp.MODES, "network": lambda: NetworkScreen(maker)}

        def on_ready(self) -> None:
            self.switch_mode("network")

    app = NetworkApp(Settings(ami=AmiTarget(), asterisk_dir=config_dir, theme=theme),
                     connect=False)
    app.clock = lambda: 100.0
    app.wall_clock = lambda: 1795666500.0  # the uptime ticks on its second
    return app


async def settled(app: App[Any], pilot: Any) -> None:
    """The report shown and the footer recomposed (it follows focus changes a tick late).

    Waits for the network screen to be the current one (on_ready switches to it) and for
    its thread worker's result, not for a guessed time: on a loaded machine the screen may
    not be shown yet at the first pause, and wait_for_complete() then returns at once.
    """
    for _ in range(600):
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, NetworkScreen) and (screen.report is not None
                                                  or screen.failure):
            break
        await app.workers.wait_for_complete()
    await pilot.pause()
    for _ in range(100):
        if not isinstance(app.screen, NetworkScreen) or any(
                key.description == "Why" for key in app.screen.query(FooterKey)):
            break
        await pilot.pause(0.02)


def table_of(app: App[Any]) -> DataTable[Text]:
    return app.screen.query_one("#network-table", DataTable)


def cells(app: App[Any]) -> dict[str, list[str]]:
    table = table_of(app)
    return {str(key.value).split("\0")[0]: [c.plain for c in table.get_row(key)]
            for key in table.rows}


async def test_one_row_per_provider_address_and_a_column_per_transport() -> None:
    app = network_app(from_rules(RULES / "native.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
        table = table_of(app)
        assert [str(c.label) for c in table.columns.values()] == [
            "provider", "address", "SIP udp", "SIP tcp", "RTP"]
        assert cells(app) == {
            "carrier-a": ["carrier-a", "198.51.100.7", "✓ ok", "✓ ok", "✓ ok"],
            "carrier-b": ["carrier-b", "192.0.2.110", "✓ ok", "✓ ok", "✗ PARTLY"],
            "carrier-c": ["carrier-c", "203.0.113.66", "✗ BLOCKED", "✗ BLOCKED", "✗ BLOCKED"],
            "carrier-d": ["carrier-d", "192.0.2.66", "✗ BLOCKED", "✗ BLOCKED", "✗ PARTLY"],
            "carrier-e": ["carrier-e", "sip.carrier-e.example", "- hostname", "- hostname",
                          "- hostname"],
        }
        # nothing scrolls sideways at 80 columns
        assert table.virtual_size.width <= table.size.width
        text = visible_text(app)
        assert "5 addresses, 3 blocked" in text
        assert "udp 0.0.0.0:5060" in text
        assert "asterisk (pid 421)" in text


async def test_cells_take_their_colours_from_the_theme() -> None:
    app = network_app(from_rules(RULES / "native.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)

        def colour(row: int, column: int) -> str | None:
            cell = table_of(app).get_cell_at(Coordinate(row, column))
            assert isinstance(cell.style, Style)
            return cell.style.color.name if cell.style.color else None

        assert colour(0, 2) == "#9ece6a"  # trunk-dark trunk-up
        assert colour(2, 2) == "#f7768e"  # trunk-down
        app.theme = "trunk-light"
        await pilot.pause()
        assert colour(0, 2) == "#2e7d32"
        assert colour(2, 2) == "#c62828"


async def test_enter_shows_the_path_the_deciding_rule_and_the_change_to_copy() -> None:
    app = network_app(from_rules(RULES / "native.json"))
    async with app.run_test(size=(100, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("down")  # carrier-b: RTP partly dropped
        assert "RTP 10050-20000 dropped by inet pbx input #20" in visible_text(app)
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, VerdictDetailDialog)
        why = str(dialog.query_one("#verdict-text").render())
        assert "10050-20000  ✗ BLOCKED" in why
        assert "dropped by inet pbx input #20" in why
        assert 'rule: counter log prefix "pbx-drop " reject' in why
        assert "inet pbx input #16: meta l4proto { tcp, udp } th dport vmap @sig_vmap" in why
        assert "assumes ip blocklist pre #3: 'ip daddr != 203.0.113.1' matches" in why
        fix = dialog.query_one("#verdict-fix", TextArea)
        assert fix.read_only
        assert ("nft insert rule inet pbx input position 20 ip saddr 192.0.2.110 udp dport "
                "10050-20000 accept") in fix.text
        assert "trunkconsole firewall verdict --src 192.0.2.110 --dport 10000-20000" in fix.text
        await pilot.press("c")
        assert app.clipboard == fix.text
        await pilot.press("escape")
        assert isinstance(app.screen, NetworkScreen)


async def test_undecidable_rules_are_amber_and_say_what_they_assume() -> None:
    app = network_app(from_rules(RULES / "firewalld.json"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        assert cells(app)["carrier-a"][2:] == ["? depends"] * 3
        await pilot.press("enter")
        await pilot.pause()
        why = str(app.screen.query_one("#verdict-text").render())
        assert "way 1 of 2: dropped by inet firewalld filter_IN_internal #31" in why
        assert "assumes inet firewalld filter_INPUT_ZONES #25: 'meta iifname == eth1' " \
               "matches" in why
        fix = app.screen.query_one("#verdict-fix", TextArea).text
        assert "no single rule to change" in fix
        await pilot.press("escape")
        assert "SIP conntrack helper (SIP ALG) is active" in visible_text(app)


async def test_unreadable_firewall_is_said_plainly_and_host_facts_still_show() -> None:
    app = network_app(unreadable)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        text = visible_text(app)
        assert "Firewall not checked: reading the firewall needs CAP_NET_ADMIN (root)" in text
        assert "Host facts below are still checked." in text
        assert set(cells(app)["carrier-a"][2:]) == {"- unread"}
        assert "eth0       10.0.0.5/24" in text


async def test_a_failing_report_is_shown_not_raised(tmp_path: Path) -> None:
    def broken(_config_dir: Path) -> NetworkReport:
        raise OperatorError("cannot read /etc/asterisk/pjsip.conf", fix="check permissions")

    app = network_app(broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        assert "cannot read /etc/asterisk/pjsip.conf" in visible_text(app)
        assert not table_of(app).loading


async def test_rules_are_read_on_open_and_on_r_never_on_the_tick() -> None:
    calls: list[Path] = []
    make = from_rules(RULES / "native.json")

    def counting(config_dir: Path) -> NetworkReport:
        calls.append(config_dir)
        return make(config_dir)

    app = network_app(counting)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        await pilot.press("down", "down")
        for _ in range(5):
            app.refresh_visible()
        assert calls == [CONFIG]
        await pilot.press("r")
        await settled(app, pilot)
        assert len(calls) == 2
        assert str(table_of(app).get_row_at(2)[0]) == "carrier-c"
        assert table_of(app).cursor_row == 2  # the cursor stays on its row


async def test_f4_and_the_palette_open_the_network_screen() -> None:
    assert ("f4", "screen-network") in {(str(b.key), b.id)  # type: ignore[union-attr]
                                        for b in TrunkConsoleApp.BINDINGS}
    assert any(action == "switch_mode('network')" for _t, _h, action in TrunkConsoleApp.PALETTE)
    app = network_app(from_rules(RULES / "native.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        assert not isinstance(app.screen, NetworkScreen)
        await pilot.press("f4")
        await settled(app, pilot)
        assert isinstance(app.screen, NetworkScreen)


async def test_markup_in_names_and_rule_comments_shows_literally(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text(
        "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 0.0.0.0:5060\n\n"
        "[evil]\ntype = identify\nendpoint = [red]evil[/red]\nmatch = 192.0.2.110\n")
    (tmp_path / "rtp.conf").write_text("[general]\nrtpstart = 10000\nrtpend = 20000\n")
    ruleset = json.loads((RULES / "native.json").read_text())
    for item in ruleset["nftables"]:
        rule = item.get("rule")
        if rule and rule["chain"] == "input" and rule.get("handle") == 20:
            rule["comment"] = "[bold red]no audio[/] [/oops]"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(ruleset))
    app = network_app(from_rules(rules), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        assert "[red]evil[/red]" in visible_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert "[red]evil[/red]  192.0.2.110" in visible_text(app)
        app.screen.query_one("#verdict-why").scroll_end(animate=False)
        await pilot.pause()
        text = visible_text(app)
        assert 'comment "[bold red]no audio[/]' in text
        assert '[/oops]" -> drop' in text


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("theme", ["trunk-dark", "trunk-light"])
def test_snapshot_network_screen(snap_compare: Any, theme: str, size: tuple[int, int]) -> None:
    app = network_app(from_rules(RULES / "native.json"), theme=theme)

    async def run_before(pilot: Any) -> None:
        await settled(app, pilot)
        await pilot.press("down")

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("theme", ["trunk-dark", "trunk-light"])
def test_snapshot_verdict_dialog(snap_compare: Any, theme: str, size: tuple[int, int]) -> None:
    app = network_app(from_rules(RULES / "native.json"), theme=theme)

    async def run_before(pilot: Any) -> None:
        await settled(app, pilot)
        await pilot.press("down", "enter")
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=size)


def test_snapshot_firewall_unreadable(snap_compare: Any) -> None:
    app = network_app(unreadable)

    async def run_before(pilot: Any) -> None:
        await settled(app, pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
