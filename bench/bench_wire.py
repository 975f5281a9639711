"""AMI wire parsing: trunkconsole's protocol vs panoramisk 1.4's, on the same bytes.

The recorded lab stream (tests/fixtures/ami/lab-calls.raw) is replayed N times and fed in
4 KiB reads, as TCP delivers it, to (a) panoramisk's AMIProtocol (the same-run baseline)
and (b) TrunkAmiProtocol (byte framing, one UTF-8 decode per message, secrets dropped,
repeatable headers as lists, wire-order listener). Both dispatch to a no-op manager.
Run: .venv/bin/python bench/bench_wire.py [--replays N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from panoramisk.ami_protocol import AMIProtocol

from trunkconsole.ami.protocol import TrunkAmiProtocol

RECORDED = Path(__file__).parent.parent / "tests" / "fixtures" / "ami" / "lab-calls.raw"
CHUNK = 4096


class NullTransport:
    def write(self, _data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class NullManager:
    forgetable_actions = ("ping", "login")

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, _event: Any) -> None:
        self.events += 1

    def connection_lost(self, _exc: Any) -> None:
        pass


def feed(protocol_class: type[Any], data: bytes) -> tuple[float, int]:
    protocol = protocol_class()
    protocol.connection_made(NullTransport())
    manager = NullManager()
    protocol.factory = manager
    protocol.encoding = "utf8"
    if isinstance(protocol, TrunkAmiProtocol):
        protocol.listener = lambda _m: None
    start = time.perf_counter()
    for offset in range(0, len(data), CHUNK):
        protocol.data_received(data[offset:offset + CHUNK])
    return time.perf_counter() - start, manager.events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replays", type=int, default=300)
    args = parser.parse_args()
    raw = RECORDED.read_bytes()
    greeting, _, body = raw.partition(b"\r\n")
    data = greeting + b"\r\n" + body * args.replays
    results = {}
    for name, cls in (("panoramisk AMIProtocol (baseline)", AMIProtocol),
                      ("TrunkAmiProtocol", TrunkAmiProtocol)):
        best, events = min(feed(cls, data) for _ in range(3))
        results[name] = best
        print(f"{name:34} {len(data) / best / 1e6:7.1f} MB/s  {events / best:10,.0f} events/s "
              f"({events} events, {best:.3f} s)")
    ratio = results["TrunkAmiProtocol"] / results["panoramisk AMIProtocol (baseline)"]
    print(f"TrunkAmiProtocol takes {ratio:.2f}x the baseline's time")


if __name__ == "__main__":
    main()
