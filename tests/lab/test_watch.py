"""`trunkconsole watch` against the real lab: outage, recovery, an Asterisk restart, the
journal after kill -9, and a full disk (a real, tiny tmpfs)."""

from __future__ import annotations

import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import qualify_now, run_cli
from .watch_helpers import events, history_json, metrics, running_watch, wait_for


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_watch_records_outage_restart_and_recovery(scenario_lab: Lab, tmp_path: Path) -> None:
    lab = scenario_lab
    journal = tmp_path / "journal.sqlite"
    with running_watch(lab, journal, tmp_path, "--no-metrics") as watch:
        wait_for("a first reachable carrier", lambda: events(journal, "contact-reachable"))
        scenarios.apply(lab, "trunk-down", log=lambda _m: None)
        qualify_now(lab)
        wait_for("the outage", lambda: events(journal, "contact-unreachable"))
        wait_for("its finding", lambda: [e for e in events(journal, "finding-raised")
                                         if "does not answer" in e[2]], timeout=25)
        scenarios.apply(lab, "reset", log=lambda _m: None)
        wait_for("the recovery", lambda: len(events(journal, "contact-reachable")) >= 2)
        lab.restart_asterisk()
        wait_for("Asterisk's restart", lambda: events(journal, "asterisk-started"), timeout=60)
        wait_for("reachable after the restart",
                 lambda: len(events(journal, "contact-reachable")) >= 3, timeout=60)
        time.sleep(1.5)  # one more commit
        assert watch.poll() is None, (tmp_path / "watch.log").read_text()
    history = history_json(lab, journal, "--since", "1h", "--trunk", "carrier")
    kinds = [item["kind"] for item in history["timeline"]]
    at = [item["at"] for item in history["timeline"]]
    assert at == sorted(at)
    down = kinds.index("contact-unreachable")
    up = kinds.index("contact-reachable", down)
    restart = kinds.index("asterisk-started", up)
    assert "contact-reachable" in kinds[restart:]
    assert any(k.startswith("ami-") for k in kinds[up:])  # the AMI session was lost
    raised = [i for i in history["timeline"] if i["kind"] == "finding-raised"
              and i["evidence"].get("code") == "trunk-unreachable"]
    assert raised
    carrier = history["trunks"]["carrier"]
    assert carrier["flaps"] >= 2
    assert any(o["end"] is not None for o in carrier["outages"])
    assert kinds[-1] != "watch-started"
    assert events(journal, "watch-stopped")


def test_journal_survives_kill_9_mid_write(lab: Lab, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    with running_watch(lab, journal, tmp_path, "--no-metrics") as watch:
        wait_for("the first commit", lambda: events(journal))
        lab.call_in_background(CallSpec(did="15551230001", count=400, rate=40, duration=0.2))
        seen = 0
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and seen < 150:
            db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
            seen = db.execute("SELECT count(*) FROM calls").fetchone()[0]
            db.close()
            time.sleep(0.05)
        assert seen > 0
        watch.send_signal(signal.SIGKILL)  # while calls keep ending: mid-write
        watch.wait(10)
    lab.stop_background_calls()
    db = sqlite3.connect(journal)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM calls").fetchone()[0] >= seen
    db.close()


def test_full_disk_is_said_and_metrics_keep_serving(lab: Lab, tmp_path: Path) -> None:
    disk = tmp_path / "tiny"
    disk.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    journal = disk / "journal.sqlite"
    # A real 600 KB tmpfs in a private mount namespace: nothing changes for the host.
    script = (f"mount -t tmpfs -o size=600k tmpfs {disk} && "
              f"dd if=/dev/zero of={disk}/filler bs=4k count=90 status=none; exec \"$@\"")
    with running_watch(lab, journal, state, prefix=("unshare", "--mount", "--propagation",
                                                    "private", "sh", "-c", script, "sh")) as watch:
        wait_for("metrics", lambda: _try_metrics(lab))
        lab.call_in_background(CallSpec(did="15551230001", count=2000, rate=50, duration=0.1))
        failed = wait_for("a failed journal write",
                          lambda: "trunkconsole_journal_ok 0.0" in _try_metrics(lab),
                          timeout=90)
        assert failed
        text = metrics(lab)
        assert 'trunkconsole_trunk_reachable{trunk="carrier"} 1.0' in text
        assert "trunkconsole_ami_connected 1.0" in text
        assert watch.poll() is None
        lab.stop_background_calls()
    log = (state / "watch.log").read_text()
    assert "database or disk is full" in log
    assert "cannot write" in log


def _try_metrics(lab: Lab) -> str:
    try:
        return metrics(lab)
    except OSError:
        return ""


def test_watch_tells_systemd_it_is_ready(lab: Lab, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Type=notify: READY=1 arrives on $NOTIFY_SOCKET once the first resync is done."""
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(address))
        server.settimeout(40)
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        with running_watch(lab, tmp_path / "j.sqlite", tmp_path, "--no-metrics"):
            message = server.recv(200)
            assert message.startswith(b"READY=1")
            assert events(tmp_path / "j.sqlite", "contact-reachable") or wait_for(
                "the listing", lambda: events(tmp_path / "j.sqlite", "contact-reachable"))


def test_history_tells_the_provider_ip_story(scenario_lab: Lab, tmp_path: Path) -> None:
    """Refused INVITEs from the new address, the finding, `identify add` (from the audit
    log), then calls resume: the issue's timeline, from a real run."""
    lab = scenario_lab
    journal = tmp_path / "journal.sqlite"
    with running_watch(lab, journal, tmp_path, "--no-metrics"):
        wait_for("the first listing", lambda: events(journal, "contact-reachable"))
        scenarios.apply(lab, "provider-ip-changed", log=lambda _m: None)
        wait_for("the finding", lambda: [e for e in events(journal, "finding-raised")
                                         if "203.0.113.12" in e[2]], timeout=40)
        fixed = run_cli(lab, "identify", "add", "carrier", scenarios.NEW_CARRIER_ADDRESS,
                        "--yes", state=tmp_path)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        wait_for("the applied change", lambda: events(journal, "change-applied"))
        report = lab.call(CallSpec(did="15551230001", source=scenarios.NEW_CARRIER_ADDRESS,
                                   duration=1))
        assert report.answered == 1, report.summary()
        lab.stop_background_calls()
        time.sleep(2.5)
    history = history_json(lab, journal, "--since", "1h")
    timeline = history["timeline"]
    kinds = [i["kind"] for i in timeline]
    refused = next(i for i in timeline if i["kind"] == "senders")
    assert refused["evidence"]["address"] == scenarios.NEW_CARRIER_ADDRESS
    assert refused["trunk"] == "carrier"
    assert refused["evidence"]["count"] >= 3
    change = next(i for i in timeline if i["kind"] == "change-applied")
    assert "203.0.113.12" in change["text"]
    assert " by " in change["text"]
    resume = next(i for i in timeline if i["kind"] == "calls-resume")
    assert kinds.index("senders") < kinds.index("change-applied") < \
        timeline.index(resume)
    assert resume["trunk"] == "carrier"


def _subjects(journal: Path, kind: str) -> list[str]:
    if not journal.exists():
        return []
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        return [r[0] for r in db.execute("SELECT subject FROM events WHERE kind = ? "
                                         "ORDER BY at", (kind,))]
    except sqlite3.Error:
        return []
    finally:
        db.close()


def test_a_contact_a_reload_replaced_is_journaled_removed(scenario_lab: Lab,
                                                           tmp_path: Path) -> None:
    """The carrier's contact= changes (same host, no port) and res_pjsip reloads: the old
    contact leaves the journal as contact-removed, so the next outage of the new contact
    is an outage in the history (the old one no longer counts as up)."""
    lab = scenario_lab
    journal = tmp_path / "journal.sqlite"
    old, new = "sip:203.0.113.10:5060", "sip:203.0.113.10"
    with running_watch(lab, journal, tmp_path, "--no-metrics"):
        wait_for("a first reachable carrier", lambda: old in _subjects(journal,
                                                                     "contact-reachable"))
        pjsip = lab.config_dir / "pjsip.conf"
        pjsip.write_text(pjsip.read_text().replace(f"contact = {old}\n", f"contact = {new}\n"))
        with lab.ami() as ami:
            ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
        wait_for("the old contact removed", lambda: old in _subjects(journal,
                                                                   "contact-removed"))
        wait_for("the new contact reachable", lambda: new in _subjects(journal,
                                                                     "contact-reachable"))
        scenarios.trunk_down(lab, lambda _m: None)  # not apply(): that resets pjsip.conf
        qualify_now(lab)
        wait_for("the new contact's outage", lambda: new in _subjects(journal,
                                                                    "contact-unreachable"))
        time.sleep(1.5)  # one more commit
    history = history_json(lab, journal, "--since", "1h", "--trunk", "carrier")
    outages = history["trunks"]["carrier"]["outages"]
    assert outages, history
    assert outages[-1]["end"] is None, outages
    assert _subjects(journal, "contact-removed") == [old]
