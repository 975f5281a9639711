"""PbxState throughput on a recorded AMI stream (no UI, no I/O).

The stream is tests/fixtures/ami/lab-calls.raw (recorded from the lab's Asterisk 22: a
resync, calls from the carrier, calls from an unknown address), replayed N times with
Uniqueid/Linkedid/SessionID rewritten per replay so every call is a new one. Prints events/s
for PbxState.apply and for a same-run baseline: a plain dict update per message (the least
any consumer of the stream does). Target (issue 3): at least 50,000 events/s.
Run: .venv/bin/python bench/bench_model.py [--replays N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from trunkconsole.ami.message import AmiMessage, parse_stream
from trunkconsole.model.state import PbxState

RECORDED = Path(__file__).parent.parent / "tests" / "fixtures" / "ami" / "lab-calls.raw"
REWRITE = ("uniqueid", "linkedid", "sessionid", "destuniqueid", "destlinkedid")


def build_stream(replays: int) -> list[AmiMessage]:
    base = parse_stream(RECORDED.read_bytes())
    events = [m for m in base if m.event]
    stream: list[AmiMessage] = []
    for replay in range(replays):
        for message in events:
            fields = dict(message.fields)
            for key in REWRITE:
                if key in fields:
                    fields[key] = f"{fields[key]}-{replay}"
            stream.append(AmiMessage(fields, message.lists))
    return stream


def bench_state(stream: list[AmiMessage]) -> tuple[float, PbxState]:
    state = PbxState(clock=lambda: 1795666500.0)
    apply = state.apply
    start = time.perf_counter()
    for message in stream:
        apply(message)
    elapsed = time.perf_counter() - start
    return elapsed, state


def bench_baseline(stream: list[AmiMessage]) -> float:
    latest: dict[str, dict[str, str]] = {}
    start = time.perf_counter()
    for message in stream:
        latest[message.fields.get("event", "")] = message.fields
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replays", type=int, default=2000)
    args = parser.parse_args()
    stream = build_stream(args.replays)
    names: dict[str, int] = {}
    for message in stream:
        names[message.event] = names.get(message.event, 0) + 1
    best_state, best_base = float("inf"), float("inf")
    state = PbxState()
    for _ in range(3):
        elapsed, state = bench_state(stream)
        best_state = min(best_state, elapsed)
        best_base = min(best_base, bench_baseline(stream))
    count = len(stream)
    print(f"stream: {count} events ({len(names)} kinds; most: "
          + ", ".join(f"{k} {v}" for k, v in sorted(names.items(), key=lambda i: -i[1])[:4])
          + ")")
    print(f"PbxState.apply:        {count / best_state:12,.0f} events/s  ({best_state:.3f} s)")
    print(f"baseline dict update:  {count / best_base:12,.0f} events/s  ({best_base:.3f} s)")
    print(f"ratio apply/baseline:  {best_state / best_base:.1f}x the baseline's time")
    print(f"end state: {len(state.endpoints)} endpoints, {len(state.channels)} channels, "
          f"{len(state.hangups)} hangups kept, {len(state.senders.by_address)} senders")
    handled = [m for m in stream if m.event in state._handlers]
    best_handled = min(bench_state(handled)[0] for _ in range(3))
    print(f"handled events only:   {len(handled) / best_handled:12,.0f} events/s  "
          f"({len(handled)} events that change the model)")
    target = 50_000
    verdict = "meets" if count / best_state >= target else "MISSES"
    print(f"{verdict} the {target:,} events/s target")


if __name__ == "__main__":
    main()
