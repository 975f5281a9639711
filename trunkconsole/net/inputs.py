"""What the network checks need from the Asterisk configuration, as plain data.

Kept separate from trunkconsole.pjsip so the engine, its tests and the bench run on
hand-made inputs; `from_asterisk()` in net/pjsip_inputs.py fills it from the resolved model.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# res_rtp_asterisk.c DEFAULT_RTP_START / DEFAULT_RTP_END when rtp.conf sets nothing
DEFAULT_RTP = (5000, 31000)


@dataclass(frozen=True)
class ProviderAddress:
    """One address (or network) a provider sends from: an identify match or an aor contact."""

    provider: str  # endpoint id
    address: str  # IP, CIDR network or hostname as written
    origin: str = ""  # "identify 'carrier-a' match" / "aor 'carrier-a' contact"
    location: str = ""  # file:line
    transport: str = ""  # the endpoint's transport=, if set

    def probe_address(self) -> str | None:
        """The source address to evaluate: the address itself, or a network's first host."""
        try:
            net = ipaddress.ip_network(self.address, strict=False)
        except ValueError:
            return None
        if net.num_addresses == 1:
            return str(net.network_address)
        for host in net.hosts():
            return str(host)
        return str(net.network_address)


@dataclass(frozen=True)
class Transport:
    """A PJSIP transport: where Asterisk listens and what it tells the other side."""

    name: str
    protocol: str = "udp"  # udp | tcp | tls | ws | wss
    bind: str = "0.0.0.0"
    port: int = 5060
    external_media_address: str = ""
    external_signaling_address: str = ""
    local_nets: tuple[str, ...] = ()
    location: str = ""

    @property
    def l4(self) -> str:
        return "udp" if self.protocol == "udp" else "tcp"

    @property
    def family(self) -> int:
        try:
            return ipaddress.ip_address(self.bind).version
        except ValueError:
            return 4

    @property
    def wildcard(self) -> bool:
        return self.bind in ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class NetworkInputs:
    providers: tuple[ProviderAddress, ...] = ()
    transports: tuple[Transport, ...] = ()
    rtp_start: int = DEFAULT_RTP[0]
    rtp_end: int = DEFAULT_RTP[1]
    rtp_location: str = ""
    notes: tuple[str, ...] = field(default=())
