"""Know when the firewall changed, so evidence is never older than the rules.

nf_tables reports every change to `nft monitor ruleset` listeners (new/delete of
tables, chains, rules, set elements: fail2ban's bans included); legacy x_tables has no
such notification, so their `iptables-legacy-save` output (counters dropped) is
fingerprinted every few seconds when legacy tables exist (/proc/net/ip_tables_names).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
import time
from pathlib import Path

from trunkconsole.net.orphan import die_with_parent

LEGACY_POLL = 5.0
_COUNTERS = re.compile(r"\[\d+:\d+\]")


def legacy_fingerprint() -> str:
    """A hash of the legacy rules (both families), '' when no legacy table exists."""
    parts = []
    for names, tool in (("/proc/net/ip_tables_names", "iptables-legacy-save"),
                        ("/proc/net/ip6_tables_names", "ip6tables-legacy-save")):
        try:
            if not Path(names).read_text().split():
                continue
            out = subprocess.run([tool], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        parts.append("\n".join(_COUNTERS.sub("", line) for line in out.splitlines()
                               if not line.startswith("#")))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest() if parts else ""


class RulesetWatcher:
    """A daemon thread that stamps `changed_at` whenever the rules change."""

    def __init__(self, legacy_poll: float = LEGACY_POLL) -> None:
        self.changed_at = 0.0
        self.error = ""
        self._legacy_poll = legacy_poll
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = False
        self.monitoring = False  # `nft monitor` runs: a change is seen within milliseconds
        self.monitoring_since = 0.0  # wall clock it started (it subscribes shortly after)
        self.legacy_tables = False  # legacy tables exist: changes are seen by polling only
        self.legacy_checked_at = 0.0  # wall clock of the last legacy fingerprint

    def start(self) -> None:
        """Start watching (once: later calls do nothing)."""
        if self._started:
            return
        self._started = True
        threading.Thread(target=self._monitor, daemon=True, name="nft-monitor").start()
        threading.Thread(target=self._legacy, daemon=True, name="legacy-poll").start()

    def changed_since(self, when: float) -> bool:
        return self.changed_at > when

    def vouched_at(self) -> float:
        """The wall time up to which a change would have been seen: now while `nft monitor`
        runs, the last poll where legacy tables exist, 0 when nothing watches."""
        if not self.monitoring:
            return 0.0
        now = time.time()
        return min(now, self.legacy_checked_at) if self.legacy_tables else now

    def _monitor(self) -> None:
        try:
            self._proc = subprocess.Popen(["nft", "monitor", "ruleset"],
                                          stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL,
                                          preexec_fn=die_with_parent())
        except OSError as exc:
            self.error = f"nft monitor: {exc}"
            return
        assert self._proc.stdout is not None
        self.monitoring, self.monitoring_since = True, time.time()
        try:
            for line in iter(self._proc.stdout.readline, b""):
                if self._stop.is_set():
                    break
                if line.strip():
                    self.changed_at = time.time()
        finally:
            self.monitoring = False  # ended (stopped, or nft refused): nothing vouches now

    def _legacy(self) -> None:
        checked = time.time()
        last = legacy_fingerprint()
        self.legacy_tables, self.legacy_checked_at = bool(last), checked
        while not self._stop.wait(self._legacy_poll):
            checked = time.time()
            now = legacy_fingerprint()
            if now != last:
                last = now
                self.changed_at = time.time()
            self.legacy_tables, self.legacy_checked_at = bool(now), checked

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
