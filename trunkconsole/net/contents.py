"""Read what a probe packet carries for the matches that look past the port numbers:
xt_string, xt_u32, xt_length, xt_physdev (from iptables-save) and nft raw payload loads
(`@nh,96,32`, `@th,64,32`). The modelled packet is described in trunkconsole.net.payload.

A match reads True/False when the modelled bytes decide it and UNKNOWN otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from trunkconsole.net import payload
from trunkconsole.net.ir import Field
from trunkconsole.net.packet import Packet
from trunkconsole.net.values import CT_NEW, PortSplit

PROTO_NAMES = {6: "tcp", 17: "udp"}
MODEL_NOTE = ("payload matches judged on the probe as modelled: on UDP 5060-5099 an INVITE "
              "as sipp sends it (no scanner User-Agent), other UDP ports RTP, TCP a SYN")


def probe_kind(p: Packet) -> str:
    """What the packet carries (payload.kind); "" when it is not one probe shape."""
    kind = payload.kind(PROTO_NAMES.get(p.l4, ""), p.dlo, p.dhi,
                        "new" if p.state & CT_NEW else "established")
    if kind == "rtp" and any(p.dlo <= port <= p.dhi for port in payload.SIP_PORTS):
        return ""  # a span holding signalling and media ports: no one payload
    return kind


def known_bytes(p: Packet, base: str) -> payload.Known | None:
    """The modelled bytes from the network (nh) or transport (th) header on."""
    kind = probe_kind(p)
    if p.l4 not in PROTO_NAMES:
        return None
    dport = p.dlo if p.dlo == p.dhi else None
    transport = payload.transport(kind, dport, p.sport)
    if base == "th":
        return transport
    if base != "nh":
        return None
    head = payload.network_header(p.family, p.l4, p.saddr, p.daddr)
    return head[0] + transport[0], head[1] + transport[1]


MAX_SCAN = 20_001  # ports of a span scanned one by one (the RTP range is 10,001)


def _segments(lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi] cut where the payload kind changes (signalling ports vs media ports)."""
    edges = sorted({e for a, b in _SIP_RUNS for e in (a, b + 1) if lo < e <= hi})
    bounds = [lo, *edges, hi + 1]
    return [(a, b - 1) for a, b in pairwise(bounds)]


_SIP_RUNS = ((5060, 5099), (5160, 5161))


def per_port(p: Packet, read: Callable[[Packet], Any]) -> Any:
    """read() of a port span: the same answer for every port, or PortSplit where it changes.

    Each run of one payload kind is read once with the destination port unknown; only a
    match that then needs the port (u32/bpf/raw reading the port bytes) is read port by
    port (bounded), and the span splits where its answer changes."""
    from trunkconsole.net.fields import UNKNOWN

    if p.dlo == p.dhi:
        return read(p)
    one = p.copy()
    values: list[tuple[int, Any]] = []
    for lo, hi in _segments(p.dlo, p.dhi):
        one.dlo, one.dhi = lo, hi
        value = read(one)
        if value is UNKNOWN and lo != hi and hi - lo < MAX_SCAN:
            for port in range(lo, hi + 1):
                one.dlo = one.dhi = port
                values.append((port, read(one)))
            continue
        values.append((lo, value))
    points = [port for (_, before), (port, value) in pairwise(values) if value != before]
    if points:
        raise PortSplit(points)
    return values[0][1]


def raw_getter(field: Field) -> Callable[[Packet], Any]:
    """`@th,64,32`: the bits, or UNKNOWN/ABSENT (imported lazily: match imports us)."""
    from trunkconsole.net.fields import UNKNOWN

    offset, length = (int(x) for x in field.name.split(","))

    def one(p: Packet) -> Any:
        known = known_bytes(p, field.proto)
        if known is None:
            return UNKNOWN
        value = payload.read_bits(known, offset, length)
        return UNKNOWN if value is None else value
    return lambda p: per_port(p, one)


def probe_getter(field: Field) -> Callable[[Packet], Any]:
    """An iptables content match (`-m string/u32/length/physdev`): 1, 0 or UNKNOWN."""
    from trunkconsole.net.fields import UNKNOWN

    options: list[tuple[bool, str, list[str]]] = [
        (bool(n), str(o), [str(a) for a in args]) for n, o, args in json.loads(field.name)]
    module = field.proto
    decide: Callable[[Packet], bool | None]
    if module == "string":
        decide = _string(options)
    elif module == "u32":
        spec = next(args[0] for _, opt, args in options if opt == "--u32")
        negated = any(n for n, opt, _ in options if opt == "--u32")

        def decide(p: Packet) -> bool | None:
            known = known_bytes(p, "nh")
            hit = None if known is None else payload.u32_match(spec, known)
            return None if hit is None else hit != negated
    elif module == "length":
        negated, _, args = next(o for o in options if o[1] == "--length")
        lo_text, _, hi_text = args[0].partition(":")
        lo, hi = int(lo_text or 0), int(hi_text or (lo_text if ":" not in args[0] else 65535))

        def decide(p: Packet) -> bool | None:
            hit = payload.length_match(lo, hi, probe_kind(p), p.family)
            return None if hit is None else hit != negated
    elif module == "bpf":
        code = next((args[0] for _, opt, args in options if opt == "--bytecode"), "")
        negated = any(n for n, opt, _ in options if opt == "--bytecode")

        def decide(p: Packet) -> bool | None:
            known = known_bytes(p, "nh") if code else None
            hit = None if known is None else payload.bpf_match(code, known)
            return None if hit is None else hit != negated
    elif module == "physdev":
        flags = [(n, opt) for n, opt, _ in options]

        def decide(p: Packet) -> bool | None:
            return payload.physdev_match(flags)
    else:
        raise ValueError(f"-m {module}")

    def one(p: Packet) -> Any:
        hit = decide(p)
        return UNKNOWN if hit is None else int(hit)
    return lambda p: per_port(p, one)


def _string(options: list[tuple[bool, str, list[str]]]) -> Callable[[Packet], bool | None]:
    pattern = b""
    negated = icase = False
    start, end = 0, 65535
    for neg, opt, args in options:
        if opt == "--string":
            pattern, negated = args[0].encode(), neg
        elif opt == "--hex-string":
            pattern, negated = _hex_string(args[0]), neg
        elif opt == "--icase":
            icase = True
        elif opt == "--from":
            start = int(args[0])
        elif opt == "--to":
            end = int(args[0])
    whole = start == 0 and end >= 1500

    def decide(p: Packet) -> bool | None:
        hit = payload.string_match(pattern, probe_kind(p), icase=icase, whole_packet=whole)
        return None if hit is None else hit != negated
    return decide


def _hex_string(text: str) -> bytes:
    """`|46 52|IEND` mixes hex bytes between bars with literal text (libxt_string.c)."""
    out = bytearray()
    parts = text.split("|")
    for index, part in enumerate(parts):
        out += bytes.fromhex(part.replace(" ", "")) if index % 2 else part.encode()
    return bytes(out)


def describe(field: Field) -> str:
    """`-m string --string "friendly-scanner" --algo bm` for messages."""
    parts = [f"-m {field.proto}"]
    for negated, opt, args in json.loads(field.name):
        parts += (["!"] if negated else []) + [opt] + [json.dumps(a) if " " in a or not a
                                                        else a for a in args]
    return " ".join(parts)


# The MSS a provider's SYN advertises: at least 536 (RFC 9293's IPv4 default) or 1220
# (IPv6's 1280-byte minimum MTU), at most an Ethernet path's 1460 / 1440.
MSS_SPAN = {4: (536, 1460), 6: (1220, 1440)}


def mss_bounds(p: Packet) -> tuple[int, int] | None:
    """The span of MSS values a new TCP probe can carry; None for anything else."""
    if probe_kind(p) != "syn":
        return None
    return MSS_SPAN[p.family]
