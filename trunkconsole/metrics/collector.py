"""The metric families, built at scrape time from the WatchView.

Labels stay bounded: trunk names come from the configuration (at most MAX_TRUNKS), finding
codes and cause classes are fixed sets in our code; no caller IDs and no addresses of
strangers are ever labels (naming.md: base units, `_total` for counters).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trunkconsole.journal.view import WatchView
from trunkconsole.net.verdict import Decision

MAX_TRUNKS = 1000
SENDER_WINDOW = 3600.0


class WatchCollector(Collector):
    def __init__(self, view: WatchView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        view = self.view
        state = view.state
        yield GaugeMetricFamily("trunkconsole_up", "1 while trunkconsole watch runs", value=1)
        yield GaugeMetricFamily("trunkconsole_ami_connected",
                                "1 while the AMI session is logged in",
                                value=1 if view.ami_connected else 0)
        reachable = GaugeMetricFamily("trunkconsole_trunk_reachable",
                                      "1 if any qualified contact of the trunk answers OPTIONS",
                                      labels=["trunk"])
        rtt = GaugeMetricFamily("trunkconsole_trunk_qualify_rtt_seconds",
                                "best qualify round-trip time of the trunk's contacts",
                                labels=["trunk"])
        active = GaugeMetricFamily("trunkconsole_trunk_calls_active",
                                   "channels up on the trunk", labels=["trunk"])
        for endpoint in state.trunks()[:MAX_TRUNKS]:
            contacts = [c for c in state.contacts_of(endpoint)
                        if c.status in ("Reachable", "Unreachable")]
            if contacts:
                up = [c for c in contacts if c.status == "Reachable"]
                reachable.add_metric([endpoint.name], 1 if up else 0)
                rtts = [c.rtt_usec for c in up if c.rtt_usec]
                if rtts:
                    rtt.add_metric([endpoint.name], min(rtts) / 1e6)
            active.add_metric([endpoint.name], len(endpoint.channels))
        yield reachable
        yield rtt
        yield active
        calls = CounterMetricFamily("trunkconsole_trunk_calls",
                                    "calls ended on the trunk since watch started, by cause "
                                    "class", labels=["trunk", "cause_class"])
        for (trunk, klass), count in sorted(view.calls.items())[:MAX_TRUNKS * 8]:
            calls.add_metric([trunk, klass], count)
        yield calls
        now = time.time()
        recent = sum(1 for s in state.senders.by_address.values()
                     if now - s.last_seen <= SENDER_WINDOW)
        yield GaugeMetricFamily("trunkconsole_unknown_senders",
                                "addresses refused (no identify matches) in the last hour",
                                value=recent)
        yield CounterMetricFamily("trunkconsole_unknown_sender_requests",
                                  "requests refused from unknown senders since watch started",
                                  value=view.sender_requests)
        yield from self._media()
        yield from self._network()
        findings = GaugeMetricFamily("trunkconsole_findings", "open findings",
                                     labels=["code", "severity"])
        counts: dict[tuple[str, str], int] = {}
        for finding in view.findings:
            key = (finding.code, finding.severity.name.lower())
            counts[key] = counts.get(key, 0) + 1
        for (code, severity), count in sorted(counts.items()):
            findings.add_metric([code, severity], count)
        yield findings
        lint = GaugeMetricFamily("trunkconsole_config_findings",
                                 "config lint findings by severity", labels=["severity"])
        for severity in ("critical", "warning", "info"):
            lint.add_metric([severity], sum(1 for f in view.lint
                                            if f.severity.name.lower() == severity))
        yield lint
        yield from self._journal()

    def _media(self) -> Iterator[Metric]:
        """RTCP per trunk: calls ended (poor ones, MOS sum for a mean), and the live calls'
        worst figures. Loss is a ratio (base unit), from the provider or towards it."""
        view = self.view
        state = view.state
        ended = CounterMetricFamily("trunkconsole_trunk_media_calls",
                                    "calls ended on the trunk with RTCP since watch started",
                                    labels=["trunk"])
        poor = CounterMetricFamily("trunkconsole_trunk_media_poor_calls",
                                   "of those, calls with poor media (estimated MOS under 4.0,"
                                   " or an RTCP interval under 3.6)", labels=["trunk"])
        mos_sum = CounterMetricFamily("trunkconsole_trunk_media_mos_sum",
                                      "sum of those calls' estimated MOS (mean = rate of this "
                                      "/ rate of media_calls)", labels=["trunk"])
        for trunk, (calls, bad, total) in sorted(view.media.items())[:MAX_TRUNKS]:
            ended.add_metric([trunk], calls)
            poor.add_metric([trunk], bad)
            mos_sum.add_metric([trunk], total)
        yield ended
        yield poor
        yield mos_sum
        loss = GaugeMetricFamily("trunkconsole_trunk_media_loss_ratio",
                                 "highest RTP loss among the trunk's live calls, last RTCP "
                                 "interval", labels=["trunk", "direction"])
        mos = GaugeMetricFamily("trunkconsole_trunk_media_mos",
                                "lowest estimated MOS among the trunk's live calls",
                                labels=["trunk"])
        channels = dict(state.channels)
        worst: dict[str, list[float | None]] = {}
        for uid, quality in list(state.quality.calls.items()):
            channel = channels.get(uid)
            if channel is None or not channel.endpoint:
                continue
            figures = worst.setdefault(channel.endpoint, [None, None, None])
            for index, value in enumerate((quality.rx_loss, quality.tx_loss)):
                if value is not None:
                    figures[index] = max(figures[index] or 0.0, value / 100)
            score = quality.mos()
            if score is not None:
                figures[2] = score if figures[2] is None else min(figures[2], score)
        names = {e.name for e in state.trunks()}
        for trunk, (rx, tx, low) in sorted(worst.items()):
            if trunk not in names:
                continue
            if rx is not None:
                loss.add_metric([trunk, "from_provider"], rx)
            if tx is not None:
                loss.add_metric([trunk, "to_provider"], tx)
            if low is not None:
                mos.add_metric([trunk], low)
        yield loss
        yield mos

    def _network(self) -> Iterator[Metric]:
        verdicts = GaugeMetricFamily(
            "trunkconsole_firewall_verdict",
            "provider addresses by what the local firewall would do with new SIP / RTP",
            labels=["trunk", "traffic", "verdict"])
        report = self.view.network
        if report is not None:
            counts: dict[tuple[str, str, str], int] = {}
            for row in report.rows:
                trunk = row.address.provider
                if row.sip:
                    decisions = {v.decision for v in row.sip.values()}
                    sip = (Decision.DROP if Decision.DROP in decisions else
                           Decision.ACCEPT if decisions == {Decision.ACCEPT} else
                           Decision.DEPENDS)
                    counts[(trunk, "sip", sip.value)] = counts.get((trunk, "sip", sip.value),
                                                                   0) + 1
                if row.rtp is not None:
                    key = (trunk, "rtp", row.rtp.decision.value)
                    counts[key] = counts.get(key, 0) + 1
            for (trunk, traffic, verdict), count in sorted(counts.items())[:MAX_TRUNKS * 6]:
                verdicts.add_metric([trunk, traffic, verdict], count)
        yield verdicts
        bans = GaugeMetricFamily("trunkconsole_firewall_bans",
                                 "addresses banned in the firewall, by tool", labels=["tool"])
        for tool, count in sorted(self.view.bans.items()):
            bans.add_metric([tool], count)
        yield bans

    def _journal(self) -> Iterator[Metric]:
        health = self.view.health
        yield GaugeMetricFamily("trunkconsole_journal_ok",
                                "1 when the last journal write succeeded",
                                value=1 if health.ok else 0)
        yield GaugeMetricFamily("trunkconsole_journal_size_bytes",
                                "journal file size with its WAL", value=health.size_bytes)
        yield GaugeMetricFamily("trunkconsole_journal_pending_rows",
                                "rows waiting to be written", value=health.pending)
        yield CounterMetricFamily("trunkconsole_journal_rows_written",
                                  "rows committed", value=health.rows_written)
        yield CounterMetricFamily("trunkconsole_journal_write_errors",
                                  "failed commits (disk full, I/O)", value=health.errors)
        yield CounterMetricFamily("trunkconsole_journal_dropped_rows",
                                  "rows dropped because the queue was full",
                                  value=health.dropped)
        yield GaugeMetricFamily("trunkconsole_journal_last_commit_timestamp_seconds",
                                "Unix time of the last commit", value=health.last_commit)
