"""What `watch` knows right now, for its metrics and its status: one object, read-only to
the metrics collector (which runs in the HTTP server's thread)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from trunkconsole.findings import Finding
from trunkconsole.journal.writer import Health
from trunkconsole.model.state import PbxState
from trunkconsole.net.report import NetworkReport


@dataclass
class WatchView:
    state: PbxState
    health: Health
    started: float = field(default_factory=time.time)
    ami_connected: bool = False
    findings: list[Finding] = field(default_factory=list)  # live + network diagnoses
    lint: list[Finding] = field(default_factory=list)  # config lint
    network: NetworkReport | None = None
    bans: dict[str, int] = field(default_factory=dict)  # tool -> banned elements
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (trunk, class)
    sender_requests: int = 0
    # trunk -> [calls ended with RTCP, poor ones, sum of their MOS] since watch started
    media: dict[str, list[float]] = field(default_factory=dict)
    trunks: list[str] = field(default_factory=list)  # configured or seen trunk names
