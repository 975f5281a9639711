"""The History screen: the journal's timeline, per-trunk plots, and an item's evidence."""

from __future__ import annotations

import time
from pathlib import Path

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
