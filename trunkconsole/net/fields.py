"""Read a packet's fields for a match: one getter per nft expression, and its key space.

A getter returns the field's value, ABSENT when the protocol dependency is not met (nft
inserts a `meta l4proto`/`meta nfproto` check before a payload match, so `tcp dport 22`
is false on a UDP packet for `==` and `!=` alike: reference §2.2), or UNKNOWN when the
rules' files cannot decide it. net/match.py compiles the comparisons over these getters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trunkconsole.net import contents
from trunkconsole.net.ir import AnonSet, BinOp, ConcatValue, Expr, Field, Opaque, SetRef
from trunkconsole.net.packet import Packet
from trunkconsole.net.values import CT_NEW, TCP_FLAGS, PortSpan, interval


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = _Sentinel("ABSENT")  # protocol dependency not met: the match is false
UNKNOWN = _Sentinel("UNKNOWN")  # cannot be known statically: the match is undecided
# The input interface is not known, but the packet comes from another host, so it is not lo.
REMOTE_IF = _Sentinel("REMOTE_IF")
# The destination is one of this host's unicast addresses, which one is not known.
LOCAL_UNICAST = _Sentinel("LOCAL_UNICAST")

Getter = Callable[[Packet], Any]
TRANSPORT = frozenset({6, 17, 132, 33, 136})
L4_BY_NAME = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}


class Unsupported(Exception):
    """The expression is outside what the evaluator decides; the match becomes unknown."""


def _payload(field: Field) -> tuple[Getter, str]:
    proto, name = field.proto, field.name
    if proto in ("ip", "ip6"):
        fam = 4 if proto == "ip" else 6
        space = "ipv4" if fam == 4 else "ipv6"
        if name == "saddr":
            return (lambda p: p.saddr if p.family == fam else ABSENT), space
        if name == "daddr":
            # no --dst: some local unicast address (never broadcast nor multicast)
            return (lambda p: ((LOCAL_UNICAST if p.daddr_local else UNKNOWN)
                               if p.daddr is None else p.daddr)
                    if p.family == fam else ABSENT), space
        if name in ("protocol", "nexthdr"):
            # assumes no IPv6 extension headers between the fixed header and UDP/TCP
            return (lambda p: p.l4 if p.family == fam else ABSENT), "proto"
        if name == "version":
            return (lambda p: fam if p.family == fam else ABSENT), "int"
        return (lambda p: UNKNOWN if p.family == fam else ABSENT), "int"
    if proto in L4_BY_NAME or proto == "th":
        wanted = TRANSPORT if proto == "th" else frozenset({L4_BY_NAME[proto]})
        if name == "dport":
            return (lambda p: p.dport() if p.l4 in wanted else ABSENT), "int"
        if name == "sport":
            return (lambda p: (UNKNOWN if p.sport is None else p.sport)
                    if p.l4 in wanted else ABSENT), "int"
        if proto == "tcp" and name == "flags":
            # a new TCP connection starts with a bare SYN; an established one carries ACK
            return (lambda p: (TCP_FLAGS["syn"] if p.state & CT_NEW else TCP_FLAGS["ack"])
                    if p.l4 == 6 else ABSENT), "tcpflags"
        return (lambda p: UNKNOWN if p.l4 in wanted else ABSENT), "int"
    if proto in ("icmp", "icmpv6"):
        # `icmp type X` implies `meta nfproto ipv4 meta l4proto icmp` (icmpv6: ipv6 and 58):
        # never true for UDP/TCP nor for the other family, whatever the type names
        fam, number = (4, 1) if proto == "icmp" else (6, 58)
        space = f"{proto}{name}" if name in ("type", "code") else "int"
        return (lambda p: UNKNOWN if p.l4 == number and p.family == fam else ABSENT), space
    if proto in ("igmp", "ah", "esp", "comp", "gre"):
        number = {"igmp": 2, "ah": 51, "esp": 50, "comp": 108, "gre": 47}[proto]
        return (lambda p: UNKNOWN if p.l4 == number else ABSENT), "int"
    raise Unsupported(f"payload {proto} {name}")


def _meta(name: str) -> tuple[Getter, str]:
    if name == "l4proto":
        return (lambda p: p.l4), "proto"
    if name == "nfproto":
        return (lambda p: 2 if p.family == 4 else 10), "nfproto"
    if name == "protocol":
        return (lambda p: 0x0800 if p.family == 4 else 0x86DD), "ethertype"
    if name in ("iif", "iifname"):
        return (lambda p: REMOTE_IF if p.iif is None else p.iif), "ifname"
    if name in ("oif", "oifname", "skuid", "skgid"):
        # no output device (or socket) on the way in: the expression breaks the rule
        return (lambda p: ABSENT), "ifname" if name.startswith("oif") else "int"
    if name == "mark":
        return (lambda p: UNKNOWN if p.mark is None else p.mark), "int"
    if name == "pkttype":
        return (lambda p: 0), "pkttype"
    if name == "iiftype":
        return (lambda p: UNKNOWN if p.iif is None else (772 if p.iif == "lo" else 1)), "iftype"
    raise Unsupported(f"meta {name}")


def _ct(name: str) -> tuple[Getter, str]:
    if name == "state":
        return (lambda p: p.state), "ctstate"
    if name == "status":
        return (lambda p: p.status), "ctstatus"
    if name == "mark":
        return (lambda p: UNKNOWN if p.ct_mark is None else p.ct_mark), "int"
    if name == "direction":
        return (lambda p: 0 if p.state & CT_NEW else UNKNOWN), "ctdir"
    if name in ("l3proto",):
        return (lambda p: 2 if p.family == 4 else 10), "nfproto"
    if name == "protocol":
        return (lambda p: p.l4), "proto"
    if name == "zone":
        return (lambda p: 0), "int"
    if name == "helper":
        return (lambda p: p.helper if p.state & CT_NEW else UNKNOWN), "str"
    raise Unsupported(f"ct {name}")


def _fib(field: Field) -> tuple[Getter, str]:
    flags = set(field.proto.split("."))
    if field.name == "type" and "daddr" in flags:
        return (lambda p: UNKNOWN if p.daddr_local is None else (2 if p.daddr_local else 1)
                ), "fibtype"
    if field.name == "type" and "saddr" in flags:
        return (lambda p: UNKNOWN if p.iif is None else (2 if p.iif == "lo" else 1)), "fibtype"
    if field.name in ("oif", "oifname") and "saddr" in flags:
        # reverse-path filter: is there a route back to saddr (through iif)?
        return (lambda p: UNKNOWN if p.rpf_ok is None else int(p.rpf_ok)), "bool"
    raise Unsupported(f"fib {field.proto} {field.name}")


def _mss(p: Packet) -> Any:
    """`tcp option maxseg size`: a span (contents.MSS_SPAN) on a SYN; the membership test
    decides it when the whole span falls on one side, else it stays unknown."""
    if p.l4 != 6:
        return ABSENT
    bounds = contents.mss_bounds(p)
    return UNKNOWN if bounds is None else MssSpan(*bounds)


class MssSpan(PortSpan):
    """A span of possible values that must not split the probe (it is not a port)."""


def getter(expr: Expr) -> tuple[Getter, str]:
    """A function reading expr from a packet, and the key space its values live in."""
    if isinstance(expr, Field):
        if expr.base == "payload":
            return _payload(expr)
        if expr.base == "meta":
            return _meta(expr.name)
        if expr.base == "ct":
            return _ct(expr.name)
        if expr.base == "fib":
            return _fib(expr)
        if expr.base == "exthdr":
            # SIP and RTP packets carry no IPv6 extension headers (reference §5.3)
            return (lambda p: ABSENT), "int"
        if expr.base == "probe":
            return contents.probe_getter(expr), "bool"
        if expr.base == "raw":
            return contents.raw_getter(expr), "int"
        if expr.base == "tcpopt":
            return _mss, "int"
        if expr.base == "const":
            value = expr.name == "true"
            return (lambda p: int(value)), "bool"
        raise Unsupported(f"{expr.base} {expr.name}")
    if isinstance(expr, BinOp):
        inner, space = getter(expr.left)
        if expr.op != "&" or isinstance(expr.right, (AnonSet, SetRef, ConcatValue)):
            raise Unsupported(f"binop {expr.op}")
        mask = interval(expr.right, space)[0]
        left = expr.left
        if isinstance(left, Field) and left.base == "payload" and left.proto == "ip" and \
                left.name == "frag-off" and isinstance(mask, int) and not mask & 0x4000:
            # probes are unfragmented: MF, the offset and the reserved bit are 0; only DF
            # (0x4000) depends on the sender's path MTU discovery
            return (lambda p: 0 if p.family == 4 else ABSENT), space

        def masked(p: Packet) -> Any:
            value = inner(p)
            if value is LOCAL_UNICAST:
                return UNKNOWN
            if isinstance(value, int):
                return value & mask
            if isinstance(value, PortSpan):
                raise Unsupported("mask on a port span")
            return value

        return masked, space
    if isinstance(expr, Opaque):
        raise Unsupported(expr.text)
    raise Unsupported("concatenation outside a set lookup")
