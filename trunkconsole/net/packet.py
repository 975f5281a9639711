"""The hypothetical inbound packet and the evaluator's mutable view of it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from trunkconsole.net.values import (
    CT_STATE,
    CT_STATUS_CONFIRMED,
    CT_STATUS_SEEN_REPLY,
    PROTOCOLS,
    PortSpan,
)


@dataclass(frozen=True)
class Probe:
    """What the operator asks about: "would UDP from SRC to DPORT (on DST via IIF) get in?".

    dport is a closed range so an RTP range is one probe; state is the conntrack state the
    packet would have (`new` for an unsolicited INVITE or the first RTP packet).
    """

    src: str
    dport_lo: int
    dport_hi: int | None = None
    proto: str = "udp"
    dst: str | None = None
    sport: int | None = None
    iif: str | None = None
    state: str = "new"
    dst_local: bool | None = True  # is dst a local address (fib daddr type local)?
    rpf_ok: bool | None = None  # does the route back to src leave through iif?

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.src).version

    @property
    def dport_high(self) -> int:
        return self.dport_lo if self.dport_hi is None else self.dport_hi

    def ports_text(self) -> str:
        hi = self.dport_high
        return str(self.dport_lo) if hi == self.dport_lo else f"{self.dport_lo}-{hi}"

    def describe(self) -> str:
        """`udp 198.51.100.7 -> 203.0.113.1:5060 (new, iif eth0)`."""
        dst = self.dst or "this host"
        if ":" in dst:
            dst = f"[{dst}]"
        extra = [self.state] + ([f"iif {self.iif}"] if self.iif else [])
        return f"{self.proto} {self.src} -> {dst}:{self.ports_text()} ({', '.join(extra)})"

    def with_ports(self, lo: int, hi: int) -> Probe:
        return replace(self, dport_lo=lo, dport_hi=hi)


@dataclass(slots=True)
class Packet:
    """Field values the rules read; copied (not mutated) when a rule rewrites them."""

    family: int
    l4: int
    saddr: int
    daddr: int | None
    sport: int | None
    dlo: int
    dhi: int
    iif: str | None
    state: int
    status: int
    mark: int | None
    ct_mark: int | None
    daddr_local: bool | None
    rpf_ok: bool | None
    helper: str = ""
    nat_done: bool = False
    # interfaces a fork already ruled out while iif is unknown (firewalld asks `iifname
    # "wan0"` in three zone dispatchers: one answer for all of them, not 2^3 paths)
    iif_not: frozenset[str] = frozenset()

    @classmethod
    def from_probe(cls, probe: Probe) -> Packet:
        state = CT_STATE[probe.state]
        established = probe.state != "new"
        return cls(
            family=probe.family,
            l4=PROTOCOLS[probe.proto],
            saddr=int(ipaddress.ip_address(probe.src)),
            daddr=None if probe.dst is None else int(ipaddress.ip_address(probe.dst)),
            sport=probe.sport,
            dlo=probe.dport_lo,
            dhi=probe.dport_high,
            iif=probe.iif,
            state=state,
            # seen-reply|confirmed for established; ct status of a new packet is empty
            status=(CT_STATUS_SEEN_REPLY | CT_STATUS_CONFIRMED) if established else 0,
            mark=0,
            ct_mark=None if established else 0,
            daddr_local=probe.dst_local,
            rpf_ok=probe.rpf_ok,
        )

    def dport(self) -> int | PortSpan:
        return self.dlo if self.dlo == self.dhi else PortSpan(self.dlo, self.dhi)

    def copy(self) -> Packet:
        return replace(self)
