"""Read `nft monitor trace`: what the kernel did with each real packet, rule by rule.

Trace output is text only (`-j` is ignored for traces in nft 1.0.6 and upstream:
src/trace.c). Every line is `trace id ID FAMILY TABLE CHAIN ...` followed by one of:
`packet: iif "eth0" ... ip saddr A ip daddr B ... udp sport S udp dport D ...`,
`rule TEXT # handle N (verdict V)` (with `nft -a`), `verdict V`, or `policy V`.
An accept ends only its base chain: the packet goes on to the next base chain on the
hook (another table), so the fate is decided by the first drop, else by the last accept.
Legacy x_tables rules never appear in nft traces (reference firewall-and-network §5.8).
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trunkconsole.net.orphan import die_with_parent

_LINE = re.compile(r"^trace id (?P<id>[0-9a-f]+) (?P<family>\S+) (?P<table>\S+) "
                   r"(?P<chain>\S+) (?P<rest>.*)$")
_RULE = re.compile(r"^rule (?P<text>.*?)(?: # handle (?P<handle>\d+))? "
                   r"\(verdict (?P<verdict>[^)]+)\)\s*$")
_FIELDS = re.compile(r"\b(?P<key>iif|ip saddr|ip daddr|ip6 saddr|ip6 daddr|ip protocol|"
                     r"ip6 nexthdr|udp sport|udp dport|tcp sport|tcp dport) "
                     r"\"?(?P<value>[^\s\"]+)\"?")


@dataclass(frozen=True)
class TraceEvent:
    table: str  # "inet f2b-table"
    chain: str
    kind: str  # rule | policy | verdict
    verdict: str  # accept | drop | continue | jump X | return ...
    text: str = ""
    handle: int | None = None

    def label(self) -> str:
        where = f"{self.table} {self.chain}"
        if self.kind == "rule":
            return f"{where} #{self.handle}" if self.handle is not None else f"{where} rule"
        return f"{where} {self.kind}"


@dataclass
class TracedPacket:
    """One packet the kernel traced, and what each base chain did with it."""

    trace_id: str
    seen_at: float
    fields: dict[str, str] = field(default_factory=dict)
    events: list[TraceEvent] = field(default_factory=list)

    def describe(self) -> str:
        proto = self.fields.get("ip protocol") or self.fields.get("ip6 nexthdr") or \
            ("udp" if "udp dport" in self.fields else "tcp" if "tcp dport" in self.fields
             else "?")
        src = self.fields.get("ip saddr") or self.fields.get("ip6 saddr", "?")
        dst = self.fields.get("ip daddr") or self.fields.get("ip6 daddr", "?")
        sport = self.fields.get(f"{proto} sport", "")
        dport = self.fields.get(f"{proto} dport", "")
        iif = f" on {self.fields['iif']}" if "iif" in self.fields else ""
        return f"{proto} {_endpoint(src, sport)} -> {_endpoint(dst, dport)}{iif}"

    def deciding(self, ignore_table: str = "") -> TraceEvent | None:
        """The first drop, else the last accept (outside our own trace table)."""
        last_accept = None
        for event in self.events:
            if ignore_table and event.table.endswith(" " + ignore_table):
                continue
            if event.verdict in ("drop", "reject") or event.verdict.startswith("queue"):
                return event
            if event.verdict == "accept":
                last_accept = event
        return last_accept

    def fate(self, ignore_table: str = "") -> str:
        event = self.deciding(ignore_table)
        if event is None:
            return "accepted (no rule or policy decided it in nftables)"
        word = "accepted" if event.verdict == "accept" else "dropped"
        how = f"{event.text} (verdict {event.verdict})" if event.kind == "rule" else \
            f"policy {event.verdict}"
        return f"{word} by {event.label()}: {how}"

    @property
    def dropped(self) -> bool:
        event = self.deciding()
        return event is not None and event.verdict != "accept"


def _endpoint(address: str, port: str) -> str:
    if not port:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def parse_trace(lines: Iterable[str], now: Callable[[], float] = time.time) -> \
        list[TracedPacket]:
    """Packets in the order they first appeared, each with its events."""
    packets: dict[str, TracedPacket] = {}
    for line in lines:
        found = _LINE.match(line.strip())
        if found is None:
            continue
        packet = packets.setdefault(found.group("id"), TracedPacket(found.group("id"), now()))
        table = f"{found.group('family')} {found.group('table')}"
        chain, rest = found.group("chain"), found.group("rest")
        if rest.startswith("packet:"):
            if not packet.fields:
                packet.fields = {m.group("key"): m.group("value")
                                 for m in _FIELDS.finditer(rest)}
            continue
        rule = _RULE.match(rest)
        if rule is not None:
            handle = rule.group("handle")
            packet.events.append(TraceEvent(table, chain, "rule", rule.group("verdict"),
                                            rule.group("text"),
                                            int(handle) if handle else None))
        elif rest.startswith(("policy ", "verdict ")):
            kind, _, verdict = rest.strip().partition(" ")
            packet.events.append(TraceEvent(table, chain, kind, verdict.strip()))
    return list(packets.values())


def read_monitor(seconds: float, *, count: int = 1, ignore_table: str = "",
                 command: list[str] | None = None,
                 stop: threading.Event | None = None) -> list[TracedPacket]:
    """Run `nft -a monitor trace` until count packets were seen (and half a second more:
    the packet meets later base chains after our trace table's) or seconds passed."""
    proc = subprocess.Popen(command or ["nft", "-a", "monitor", "trace"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            preexec_fn=die_with_parent())
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines: list[str] = []
    partial = b""
    deadline = time.monotonic() + seconds
    settle: float | None = None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            end = min(deadline, settle) if settle is not None else deadline
            left = end - time.monotonic()
            if left <= 0 or (stop is not None and stop.is_set()):
                break
            if not selector.select(min(left, 0.5)):
                continue
            chunk = os.read(fd, 65536)  # not readline(): select cannot see its buffer
            if not chunk:
                break
            *complete, partial = (partial + chunk).split(b"\n")
            lines += [c.decode(errors="replace") for c in complete]
            if settle is None and len([p for p in parse_trace(lines) if p.fields]) >= count:
                settle = time.monotonic() + 0.5
    finally:
        selector.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    # A packet no rule outside our table decided was accepted all the same (no base chain
    # drops it): it arrived, and its fate says so.
    return [p for p in parse_trace(lines) if p.fields]


def static_verdict(ruleset: Any, src: str, packet: Any | None, proto: str | None,
            dport: int | None, state: str = "new") -> Any:
    """The engine's verdict for the traced packet (its ports, destination, interface)."""
    from trunkconsole.net.engine import Engine
    from trunkconsole.net.packet import Probe

    fields = packet.fields if packet is not None else {}
    proto = proto or ("tcp" if "tcp dport" in fields else "udp")
    port = int(fields.get(f"{proto} dport") or dport or 5060)
    sport = fields.get(f"{proto} sport")
    dst = fields.get("ip daddr") or fields.get("ip6 daddr")
    probe = Probe(src, port, None, proto=proto, dst=dst, iif=fields.get("iif"),
                  sport=int(sport) if sport else None, state=state)
    return Engine(ruleset).evaluate(probe)


def _same(kernel_label: str, static_label: str) -> bool:
    """`inet t c #7` from the trace and `inet t c #7` from the engine; a policy as
    `inet t c policy` on both sides."""
    return kernel_label == static_label or (
        kernel_label.endswith(" policy") and static_label == kernel_label)


def compare(packet: TracedPacket, ruleset: Any, src: str, proto: str | None,
            dport: int | None, ignore_table: str) -> dict[str, Any]:
    """The kernel's fate of one packet beside the static verdict, as plain data.

    The trace does not print the conntrack state: a packet of an open flow (a reply to
    Asterisk's qualify, a call's later packets) is judged as established too."""
    kernel = packet.deciding(ignore_table)
    verdicts = {state: static_verdict(ruleset, src, packet, proto, dport, state)
                for state in ("new", "established")}
    if kernel is None:  # no rule decided it in the kernel: agreed when none does here
        from trunkconsole.net.branch import NO_BASE_CHAIN

        matching = [state for state, v in verdicts.items() if v.deciding == NO_BASE_CHAIN]
    else:
        matching = [state for state, v in verdicts.items() if v.deciding is not None
                    and _same(kernel.label(), v.deciding.label)]
    verdict = verdicts[matching[0]] if matching else verdicts["new"]
    note = " (as a packet of an open flow)" if matching[:1] == ["established"] else ""
    return {"packet": packet.describe(), "seen_at": packet.seen_at,
            "kernel": packet.fate(ignore_table), "dropped": packet.dropped,
            "static": verdict.summary() + note, "agrees": bool(matching),
            "path": [e.label() + f" {e.verdict}" for e in packet.events
                     if not e.table.endswith(" " + ignore_table)]}
