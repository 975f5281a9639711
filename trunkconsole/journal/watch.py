"""`trunkconsole watch`: one AMI session, the journal, the findings, the metrics.

The LiveSession keeps the model true across reconnects; every message the model applies
also reaches the Recorder. Findings are computed every FINDINGS_EVERY seconds (raised and
cleared go to the journal), the firewall is read every NETWORK_EVERY seconds in a thread,
and the change engine's audit log is followed for applied changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.live import LiveSession
from trunkconsole.ami.message import AmiMessage
from trunkconsole.calls.quality import CallSummary
from trunkconsole.conf.gcpause import collect_frozen
from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.findings import Finding
from trunkconsole.journal.media import is_poor
from trunkconsole.journal.recorder import Recorder
from trunkconsole.journal.sdnotify import notify
from trunkconsole.journal.view import WatchView
from trunkconsole.journal.writer import JournalWriter, Retention
from trunkconsole.settings import AmiTarget

log = logging.getLogger(__name__)

FINDINGS_EVERY = 10.0
NETWORK_EVERY = 60.0
AUDIT_EVERY = 5.0
SENDER_WINDOW = 600.0  # a sender silent this long no longer keeps its finding open


@dataclass
class WatchOptions:
    journal: Path
    config_dir: Path
    state_dir: Path
    retention: Retention
    metrics_address: tuple[str, int] | None = ("127.0.0.1", 9595)
    textfile: Path | None = None
    network: bool = True


class WatchSession(LiveSession):
    """A LiveSession whose every message also goes to the recorder."""

    recorder: Recorder | None = None
    view: WatchView | None = None

    def _message(self, message: AmiMessage) -> None:
        recorder = self.recorder
        if recorder is not None:
            recorder.before(message)
        super()._message(message)
        if recorder is not None:
            recorder.message(message)

    async def resync(self) -> None:
        """A complete resync (Asterisk booted) reconciles the journal with the listing."""
        before = self.syncs
        await super().resync()
        if self.recorder is not None and self.syncs > before:
            self.recorder.reconcile()

    def _status(self, status: Status) -> None:
        super()._status(status)
        if self.view is not None:
            self.view.ami_connected = status.state is State.CONNECTED
        if self.recorder is not None and status.state in (State.CONNECTED,
                                                           State.RECONNECTING, State.FAILED):
            self.recorder.connection(status.state.name.lower(), status.reason or "")


class Watch:
    """The service: run() until stopped."""

    def __init__(self, target: AmiTarget, options: WatchOptions) -> None:
        self.options = options
        self.writer = JournalWriter(options.journal, retention=options.retention)
        self.session = WatchSession(target)
        self.view = WatchView(state=self.session.state, health=self.writer.health)
        self.recorder = Recorder(self.session.state, self.writer)
        self.session.recorder = self.recorder
        self.session.view = self.view
        self.recorder.on_quality = self._quality
        self.recorder.on_call = self._call
        self._open: dict[tuple[str, str], Finding] = {}
        self._config: Any = None
        self._config_stamp: tuple[float, ...] = ()
        self._audit_pos = -1
        self._stop = asyncio.Event()
        self._http: Any = None

    def _call(self, trunk: str, klass: str) -> None:
        """A call on a trunk ended: count it for the metrics."""
        self.view.calls[(trunk, klass)] += 1

    def _quality(self, trunk: str, summary: CallSummary) -> None:
        """A call with RTCP ended: count it for the metrics."""
        figures = self.view.media.setdefault(trunk, [0.0, 0.0, 0.0])
        figures[0] += 1
        figures[1] += 1 if is_poor(summary.mos, summary.worst_mos) else 0
        figures[2] += summary.mos or 0.0

    async def run(self) -> None:
        self.writer.start()
        self.writer.event(time.time(), "watch-started", "trunkconsole watch started")
        self._start_metrics()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        self.session.start()
        ready = False
        last_findings = last_network = last_audit = 0.0
        try:
            while not self._stop.is_set():
                now = time.time()
                if not ready and self.session.syncs:
                    ready = True
                    notify("READY=1\nSTATUS=watching")
                self.recorder.tick()
                collect_frozen()
                self.view.sender_requests = sum(
                    s.count for s in self.session.state.senders.by_address.values())
                if self.session.syncs and now - last_findings >= FINDINGS_EVERY:
                    last_findings = now
                    self._findings(now)
                if self.options.network and now - last_network >= NETWORK_EVERY:
                    last_network = now
                    loop.run_in_executor(None, self._network)
                if now - last_audit >= AUDIT_EVERY:
                    last_audit = now
                    self._follow_audit()
                if self.options.textfile is not None:
                    self._write_textfile()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)
        finally:
            notify("STOPPING=1")
            self.recorder.flush_senders()
            self.writer.event(time.time(), "watch-stopped", "trunkconsole watch stopped")
            await self.session.close()
            self.writer.close()
            if self._http is not None:
                self._http.shutdown()

    def stop(self) -> None:
        self._stop.set()

    # -- metrics -------------------------------------------------------------------------
    def _start_metrics(self) -> None:
        if self.options.metrics_address is None:
            return
        from trunkconsole.metrics.exporter import serve

        host, port = self.options.metrics_address
        self._http = serve(self.view, host, port)

    def _write_textfile(self) -> None:
        from trunkconsole.metrics.exporter import write_textfile

        assert self.options.textfile is not None
        try:
            write_textfile(self.view, self.options.textfile)
        except OSError as exc:
            log.error("textfile %s: %s", self.options.textfile, exc)

    # -- findings ------------------------------------------------------------------------
    def _load_config(self) -> Any:
        from trunkconsole.pjsip.lint import config_findings
        from trunkconsole.pjsip.system import load_asterisk

        directory = self.options.config_dir
        stamp = tuple(p.stat().st_mtime for p in sorted(directory.glob("*.conf")))
        if stamp != self._config_stamp:
            self._config_stamp = stamp
            try:
                self._config = load_asterisk(directory) if directory.is_dir() else None
                self.view.lint = config_findings(self._config) if self._config else []
            except Exception as exc:
                log.warning("config %s: %s", directory, exc)
                self._config = None
        return self._config

    def _findings(self, now: float) -> None:
        ev = Evidence(config=self._load_config(), state=self.session.state, now=now,
                      network=self.view.network, sender_window=SENDER_WINDOW)
        findings = diagnose(ev)
        if self.view.network is not None:
            findings += self.view.network.findings
        self.view.findings = findings
        current = {(f.code, f.subject): f for f in findings}
        for key, finding in current.items():
            if key not in self._open:
                self.recorder.finding(now, True, finding.code, finding.subject, finding.title,
                                      finding.severity.name.lower(), _trunk_of(finding),
                                      str(finding.details.get("address", "")))
        for key, finding in self._open.items():
            if key not in current:
                self.recorder.finding(now, False, finding.code, finding.subject,
                                      finding.title, finding.severity.name.lower(),
                                      _trunk_of(finding), str(finding.details.get("address", "")))
        self._open = current
        trunks = {e.name for e in self.session.state.trunks()}
        self.view.trunks = sorted(trunks)

    def _network(self) -> None:
        from trunkconsole.diagnose.gather import network_evidence

        ev = Evidence(config=self._config)
        try:
            network_evidence(ev, self.options.config_dir)
        except Exception as exc:
            log.warning("network: %s", exc)
            return
        self.view.network = ev.network
        self.view.bans = _bans(ev.engine)

    # -- audit log -----------------------------------------------------------------------
    def _follow_audit(self) -> None:
        path = self.options.state_dir / "audit.log"
        try:
            size = path.stat().st_size
        except OSError:
            if self._audit_pos < 0:
                self._audit_pos = 0  # no audit log yet: the first change will start it
            return
        if self._audit_pos < 0 or size < self._audit_pos:
            self._audit_pos = size if self._audit_pos < 0 else 0  # start at the end; rotated
            return
        if size == self._audit_pos:
            return
        try:
            with open(path, "rb") as handle:
                handle.seek(self._audit_pos)
                data = handle.read(size - self._audit_pos)
        except OSError:
            return
        complete = data.rpartition(b"\n")[0]
        self._audit_pos += len(complete) + (1 if complete else 0)
        for raw in complete.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            at = _audit_time(str(record.get("time", "")))
            self.recorder.change_applied(at, record)


def _trunk_of(finding: Finding) -> str:
    trunk = finding.details.get("trunk")
    return str(trunk) if trunk else ""


def _audit_time(text: str) -> float:
    try:
        return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return time.time()


def _bans(engine: Any) -> dict[str, int]:
    """Banned addresses per tool: elements of fail2ban/CrowdSec tables' sets."""
    ruleset = getattr(engine, "ruleset", None)
    if ruleset is None:
        return {}
    counts: dict[str, int] = {}
    for table in ruleset.tables:
        owner = table.owner
        tool = "crowdsec" if "crowdsec" in table.name else owner
        if tool not in ("fail2ban", "crowdsec"):
            continue
        counts[tool] = counts.get(tool, 0) + sum(len(s.elements) for s in table.sets.values())
    return counts
