"""Everything a diagnosis may look at, gathered once: config, live state, RTP, firewall."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace

from trunkconsole.diagnose.rtpstats import RtpStats
from trunkconsole.logs.record import LogRecord, merge_senders
from trunkconsole.model.records import UnknownSender
from trunkconsole.model.senders import SenderLog
from trunkconsole.model.state import PbxState
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
    log: LogRecord | None = None  # Asterisk's own log files over the check's window
    now: float = field(default_factory=time.time)
    gaps: list[str] = field(default_factory=list)  # what could not be looked at, and why

    def unknown_senders(self) -> list[UnknownSender]:
        """Live unknown senders with those the logs show over the window, merged (copies:
        the live model is never changed)."""
        live = self.state.senders if self.state is not None else SenderLog()
        if self.log is None:
            return list(live.by_address.values())
        merged = SenderLog()
        merged.by_address = {a: replace(s, sessions=deque(s.sessions, maxlen=s.sessions.maxlen),
                                        accounts=list(s.accounts))
                             for a, s in live.by_address.items()}
        merge_senders(merged, self.log.senders())
        return list(merged.by_address.values())

    def sip_verdict(self, address: str, port: int = 5060, proto: str = "udp") -> \
            PacketVerdict | None:
        """Would a new SIP packet from address get in? None when the rules are unknown."""
        if self.engine is None:
            return None
        return self.engine.evaluate(Probe(address, port, None, proto=proto))
