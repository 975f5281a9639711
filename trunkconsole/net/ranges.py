"""A port range (the RTP range) against the rules: split where the rules change their mind.

Evaluating 10,000 ports one by one would take seconds; instead the whole range is one
probe, and a rule whose match splits it (a port set, a range boundary) raises PortSplit
with the points where its answer changes. Each piece is evaluated again, and neighbours
with the same verdict are merged back: one verdict per class of ports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise

from trunkconsole.net.packet import Probe
from trunkconsole.net.values import PortSplit
from trunkconsole.net.verdict import PacketVerdict, PortClass, RangeVerdict


def evaluate_range(evaluate: Callable[[Probe], PacketVerdict], probe: Probe) -> RangeVerdict:
    """Split [dport_lo, dport_hi] into classes the rules treat alike; one verdict each."""
    pending = [(probe.dport_lo, probe.dport_high)]
    done: list[PortClass] = []
    while pending:
        lo, hi = pending.pop()
        try:
            verdict = evaluate(probe.with_ports(lo, hi))
        except PortSplit as split:
            edges = sorted({p for p in split.points if lo < p <= hi})
            bounds = [lo, *edges, hi + 1]
            pending.extend((a, b - 1) for a, b in pairwise(bounds))
            continue
        done.append(PortClass(lo, hi, verdict))
    done.sort(key=lambda c: c.lo)
    merged: list[PortClass] = []
    for cls in done:
        if merged and merged[-1].hi + 1 == cls.lo and \
                merged[-1].verdict.signature() == cls.verdict.signature():
            first = merged[-1]
            merged[-1] = PortClass(first.lo, cls.hi, replace(
                first.verdict, probe=probe.with_ports(first.lo, cls.hi)))
        else:
            merged.append(cls)
    return RangeVerdict(probe, tuple(merged))
