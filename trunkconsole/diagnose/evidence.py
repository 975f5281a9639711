"""Everything a diagnosis may look at, gathered once: config, live state, RTP, firewall."""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from trunkconsole.diagnose.rtpstats import RtpStats
from trunkconsole.findings import Finding
from trunkconsole.logs.record import LogRecord, merge_senders
from trunkconsole.model.records import UnknownSender
from trunkconsole.model.senders import SenderLog, identified
from trunkconsole.model.state import IDENTIFIES, PbxState
from trunkconsole.net.bans import BanIndex
from trunkconsole.net.engine import Engine
from trunkconsole.net.packet import Probe
from trunkconsole.net.report import NetworkReport
from trunkconsole.net.verdict import PacketVerdict
from trunkconsole.pjsip.system import AsteriskConfig


@dataclass
class Evidence:
    """Inputs of the diagnoses; any part may be missing (then its diagnoses stay quiet)."""

    config: AsteriskConfig | None = None
    state: PbxState | None = None
    rtp: dict[str, RtpStats] = field(default_factory=dict)
    network: NetworkReport | None = None
    engine: Engine | None = None  # compiled ruleset, for addresses not in the config
    bans: BanIndex | None = None  # fail2ban / CrowdSec / FreePBX bans, read with the rules
    log: LogRecord | None = None  # Asterisk's own log files over the check's window
    sender_window: float | None = None  # only senders seen this recently (a long-lived watch)
    journal_senders: SenderLog | None = None  # what `watch` recorded over the window
    now: float = field(default_factory=time.time)
    gaps: list[str] = field(default_factory=list)  # what could not be looked at, and why
    network_read_at: float = 0.0  # wall time the firewall and host were read (0: never)

    def stale_for(self, findings: Iterable[Finding]) -> bool:
        """True when a finding was raised after the firewall was read: read it again.

        A rule inserted after the read (rtp-blocked) would otherwise be missing from the
        evidence of a call that started later ("never stale": evidence is read at or after
        the event it explains).
        """
        return any(f.raised_at > self.network_read_at for f in findings)

    def unknown_senders(self) -> list[UnknownSender]:
        """Live unknown senders with those the logs show over the window, merged (copies:
        the live model is never changed)."""
        live = self.state.senders if self.state is not None else SenderLog()
        if self.log is None:
            senders = list(live.by_address.values())
        else:
            merged = SenderLog()
            merged.by_address = {
                a: replace(s, sessions=deque(s.sessions, maxlen=s.sessions.maxlen),
                           accounts=list(s.accounts)) for a, s in live.by_address.items()}
            past = self.log.senders()
            # A sender in the logs that an identify matches now is no longer unknown:
            # Asterisk already matched it (live), or the configured identify covers it (no
            # live state).
            for address in [a for a in past.by_address
                            if a not in live.by_address and self._identified(a)]:
                del past.by_address[address]
            merge_senders(merged, past)
            senders = list(merged.by_address.values())
        if self.journal_senders is not None:
            senders = self._with_journal(senders, self.journal_senders)
        if self.sender_window is not None:
            senders = [s for s in senders if self.now - s.last_seen <= self.sender_window]
        return senders

    def _with_journal(self, senders: list[UnknownSender],
                      recorded: SenderLog) -> list[UnknownSender]:
        """Add what `watch` recorded; the journal and the logs saw the same requests, so
        a count is the larger of the two, never their sum."""
        by_address = {s.address: replace(s, sessions=deque(s.sessions,
                                                            maxlen=s.sessions.maxlen),
                                          accounts=list(s.accounts)) for s in senders}
        for address, old in recorded.by_address.items():
            now = by_address.get(address)
            if now is None:
                if not self._identified(address):
                    by_address[address] = replace(old, accounts=list(old.accounts))
                continue
            now.count = max(now.count, old.count)
            now.first_seen = min(now.first_seen, old.first_seen)
            now.last_seen = max(now.last_seen, old.last_seen)
        return list(by_address.values())

    def _identified(self, address: str) -> bool:
        if self.state is not None:
            if address in self.state.senders.resolved or any(
                    identified(address, e.identifies.values())
                    for e in self.state.endpoints.values() if e.identifies):
                return True
            if self.state.listing_complete(IDENTIFIES):
                return False
            # Identifies still being read (listings stream in): not matched *yet* proves
            # nothing; the config decides meanwhile.
        if self.config is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        pjsip = self.config.pjsip
        return any(match.contains(ip) for identify in pjsip.of_type("identify")
                   for match, _option in pjsip.matches(identify))

    def sip_verdict(self, address: str, port: int = 5060, proto: str = "udp") -> \
            PacketVerdict | None:
        """Would a new SIP packet from address get in? None when the rules are unknown."""
        if self.engine is None:
            return None
        return self.engine.evaluate(Probe(address, port, None, proto=proto))
