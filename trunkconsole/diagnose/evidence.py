"""Everything a diagnosis may look at, gathered once: config, live state, RTP, firewall."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from trunkconsole.diagnose.rtpstats import RtpStats
from trunkconsole.findings import Finding
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

    def sip_verdict(self, address: str, port: int = 5060, proto: str = "udp") -> \
            PacketVerdict | None:
        """Would a new SIP packet from address get in? None when the rules are unknown."""
        if self.engine is None:
            return None
        return self.engine.evaluate(Probe(address, port, None, proto=proto))
