"""The History screen: the journal's timeline, per-trunk plots, and an item's evidence."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.journal.writer import JournalWriter
from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.history import HistoryScreen

from .screen import settle, visible_text


def _journal(state: Path) -> None:
    writer = JournalWriter(state / "journal.sqlite", flush_every=0.05)
    writer.start()
    now = time.time()
    writer.add("samples", (now - 7200, "carrier", "sip:203.0.113.10", 1, 12.0))
    writer.event(now - 3600, "contact-unreachable",
                 "carrier unreachable (qualify timeout, contact sip:203.0.113.10)",
                 trunk="carrier", subject="sip:203.0.113.10",
                 detail='{"previous": "Reachable"}')
    writer.add("senders", (now - 1800, now - 3500, "203.0.113.12", 41, "\x1b[2J155", "", ""))
    writer.event(now - 600, "contact-reachable", "carrier reachable (RTT 14 ms)",
                 trunk="carrier", subject="sip:203.0.113.10",
                 detail='{"previous": "Unreachable"}')
    writer.close()


async def test_history_screen_shows_timeline_plots_and_evidence(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUNKCONSOLE_STATE_DIR", str(tmp_path))
    _journal(tmp_path)
    settings = Settings(ami=AmiTarget(), asterisk_dir=sample_configs_dir() / "lab")
    app = TrunkConsoleApp(settings, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HistoryScreen())
        await settle(pilot)
        text = visible_text(app)
        assert "carrier  available" in text
        assert "outages 1" in text
        assert "carrier unreachable (qualify timeout" in text
        assert "41 requests from 203.0.113.12 refused" in text
        await pilot.press("up", "enter")  # the refused span
        await settle(pilot)
        text = visible_text(app)
        assert "evidence: 41 requests" in text
        assert "address=203.0.113.12" in text
        assert "\x1b" not in text
        assert "\\x1b[2J155" in text  # the stranger's From user, shown, never obeyed


async def test_history_screen_without_journal_says_how(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUNKCONSOLE_STATE_DIR", str(tmp_path))
    app = TrunkConsoleApp(Settings(ami=AmiTarget()), connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HistoryScreen())
        await settle(pilot)
        assert "trunkconsole watch" in visible_text(app)


async def test_history_screen_follows_the_journal_and_keeps_the_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While shown it re-reads the journal when `watch` wrote to it, not otherwise; a new
    item appears without a key, and the row the operator chose stays chosen."""
    from textual.widgets import DataTable

    from trunkconsole.journal import history as history_core
    from trunkconsole.tui.app import REFRESH_HZ
    from trunkconsole.tui.screens import history

    monkeypatch.setenv("TRUNKCONSOLE_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(HistoryScreen, "REFRESH_TICKS", 2)
    reads: list[float] = []
    real = history_core.build_history

    def counting(path: Path, window: float, **kwargs: Any) -> history_core.History:
        reads.append(window)
        return real(path, window, **kwargs)

    monkeypatch.setattr(history, "build_history", counting)
    _journal(tmp_path)
    period = 2 / REFRESH_HZ
    app = TrunkConsoleApp(Settings(ami=AmiTarget(), asterisk_dir=sample_configs_dir() / "lab"),
                          connect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = HistoryScreen()
        await app.push_screen(screen)
        await settle(pilot)
        read = len(reads)
        assert read >= 1
        await pilot.pause(period * 4)
        await app.workers.wait_for_complete()
        assert len(reads) == read, "re-read a journal nobody wrote to"
        table = screen.query_one("#history-table", DataTable)
        await pilot.press("up", "up")
        await settle(pilot)
        assert table.cursor_row == 0
        writer = JournalWriter(tmp_path / "journal.sqlite", flush_every=0.05)
        writer.start()
        writer.event(time.time() - 5, "contact-unreachable", "carrier unreachable again",
                     trunk="carrier", subject="sip:203.0.113.10",
                     detail='{"previous": "Reachable"}')
        writer.close()
        await pilot.pause(period * 3)
        await settle(pilot)
        assert len(reads) > read
        assert "carrier unreachable again" in visible_text(app)
        assert table.cursor_row == 0, "the operator's row moved on a re-read"
