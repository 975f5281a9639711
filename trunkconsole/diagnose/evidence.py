"""Everything a diagnosis may look at, gathered once: config, live state, RTP, firewall."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from trunkconsole.diagnose.rtpstats import RtpStats
from trunkconsole.model.state import PbxState
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
    now: float = field(default_factory=time.time)
    gaps: list[str] = field(default_factory=list)  # what could not be looked at, and why

    def sip_verdict(self, address: str, port: int = 5060, proto: str = "udp") -> \
            PacketVerdict | None:
        """Would a new SIP packet from address get in? None when the rules are unknown."""
        if self.engine is None:
            return None
        return self.engine.evaluate(Probe(address, port, None, proto=proto))
