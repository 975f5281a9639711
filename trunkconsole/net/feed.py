"""The firewall as one process sees it: one `nft monitor`, one read per change.

The console's screens that show the firewall (the dashboard's bans, Network, Diagnoses)
share this feed instead of each running its own `nft monitor` and reading the ruleset
again: the first to ask after a change reads (nft, iptables-save, ipset in a thread), the
others take that capture. A capture is handed out again only while the watcher vouches
that nothing changed since its read began (net/watch.py: `nft monitor` runs, and legacy
tables, where any exist, were polled since); otherwise every ask reads again, as without
a feed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from trunkconsole.net.collect import Capture, capture
from trunkconsole.net.watch import RulesetWatcher

# `nft monitor` subscribes to netlink shortly after it starts: a read that began sooner
# may predate a change the monitor never saw. Such a read is not handed out again.
SETTLE = 0.5


class RulesetFeed:
    """The rules of this host, read at most once per change (start() once, stop() at exit)."""

    def __init__(self, read: Callable[[], Capture] = capture,
                 watcher: RulesetWatcher | None = None) -> None:
        self.watcher = watcher if watcher is not None else RulesetWatcher()
        self._read = read
        self._lock = threading.Lock()
        self._capture: Capture | None = None
        self._read_at = 0.0
        self.reads = 0  # how many times the rules were read (tests, benches)

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def changed_since(self, when: float) -> bool:
        return self.watcher.changed_since(when)

    def current(self) -> tuple[Capture, float]:
        """The rules now and the wall time they are known to hold at (blocking: call it in
        a thread). Raises what capture() raises (FirewallUnreadable): nothing is kept."""
        with self._lock:
            vouched = self.watcher.vouched_at()
            if self._capture is not None and vouched > self._read_at \
                    and self._read_at >= self.watcher.monitoring_since + SETTLE \
                    and not self.watcher.changed_since(self._read_at):
                return self._capture, vouched
            started = time.time()
            self._capture = None
            taken = self._read()
            self._capture, self._read_at = taken, started
            self.reads += 1
            return taken, started
