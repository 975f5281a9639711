"""Call quality in the journal: `watch` runs while the packet-loss scenario's call (8% of
the carrier's RTP dropped by nft in its namespace) carries RTP; at its hangup `history`
names the call with its MOS and loss, and the metrics carried the live figures."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.lab import Lab

from .helpers import run_cli
from .watch_helpers import events, history_json, metrics, running_watch, wait_for


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    lab_config.stop_background_calls()
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def _quality_rows(journal: Path) -> list[tuple[str, str, float, float]]:
    if not journal.exists():
        return []
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT trunk, number, rx_loss, mos FROM call_quality").fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()


def _calls_up(lab: Lab) -> bool:
    with lab.ami() as ami:
        return any(line.startswith("PJSIP/") for line in
                   ami.command("core show channels concise"))


def _loss_gauge(lab: Lab) -> float | None:
    try:
        text = metrics(lab)
    except OSError:
        return None
    match = re.search(r'trunkconsole_trunk_media_loss_ratio\{direction="from_provider",'
                      r'trunk="carrier"\} (\S+)', text)
    return float(match[1]) if match else None


def test_packet_loss_call_is_journaled_with_its_quality(scenario_lab: Lab,
                                                        tmp_path: Path) -> None:
    lab = scenario_lab
    journal = tmp_path / "journal.sqlite"
    wait_for("no call left from earlier tests", lambda: not _calls_up(lab), timeout=60)
    with running_watch(lab, journal, tmp_path) as watch:
        wait_for("watch's first commit", lambda: events(journal, "watch-started"))
        scenarios.packet_loss(lab, log=lambda _m: None, hold=22)  # RTCP every 5 s
        live = wait_for("the live loss gauge", lambda: _loss_gauge(lab), timeout=30)
        assert 0 < live <= 0.25
        [(trunk, number, rx_loss, mos)] = wait_for(
            "the call's quality row at hangup", lambda: _quality_rows(journal), timeout=60)
        assert watch.poll() is None, (tmp_path / "watch.log").read_text()
        text = metrics(lab)
    assert (trunk, number) == ("carrier", "15551230002")
    assert 3 <= rx_loss <= 14  # 8% random drop, the mean of three or four reports
    assert 3.0 < mos < 4.2
    assert 'trunkconsole_trunk_media_calls_total{trunk="carrier"} 1.0' in text
    history = history_json(lab, journal, "--since", "1h", "--trunk", "carrier")
    [item] = [i for i in history["timeline"] if i["kind"] == "call-quality"]
    assert item["text"].startswith(f"call 15551230002 on carrier: MOS {mos:.1f}, loss from "
                                   f"provider {rx_loss:g}%, no RTCP from the provider")
    media = history["trunks"]["carrier"]["media"]
    assert media["calls"] == 1
    assert media["poor_calls"] == 1
    shown = run_cli(lab, "history", "--journal", str(journal), "--since", "1h").stdout
    assert "call 15551230002 on carrier: MOS" in shown
    assert "media        1 calls with RTCP" in shown
