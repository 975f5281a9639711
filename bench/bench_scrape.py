"""A Prometheus scrape of `watch` with 100 trunks, over real HTTP on loopback.

Baseline in the same run: the same server scraped with no trunk. Target: <= 50 ms per
scrape with 100 trunks (2 contacts each, calls by 4 cause classes, 30 findings).
Run: .venv/bin/python bench/bench_scrape.py [--trunks 100] [--scrapes 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.request

from trunkconsole.ami.message import AmiMessage
from trunkconsole.findings import Finding, Severity
from trunkconsole.journal.view import WatchView
from trunkconsole.journal.writer import Health
from trunkconsole.metrics.exporter import serve
from trunkconsole.model.state import PbxState


def view_with(trunks: int) -> WatchView:
    state = PbxState()
    for n in range(trunks):
        name = f"trunk{n:03d}"
        for fields in (
            {"event": "EndpointList", "objectname": name, "aor": name, "transport": "udp"},
            {"event": "IdentifyDetail", "objectname": f"{name}-id", "endpoint": name,
             "match": f"198.51.100.{n % 250}/255.255.255.255"},
            {"event": "ContactStatus", "aor": name, "uri": f"sip:198.51.100.{n % 250}:5060",
             "endpointname": name, "contactstatus": "Reachable", "roundtripusec": "12000"},
            {"event": "ContactStatus", "aor": name, "uri": f"sip:198.51.100.{n % 250}:5070",
             "endpointname": name, "contactstatus": "Unreachable", "roundtripusec": "0"},
        ):
            state.apply(AmiMessage(fields))
    view = WatchView(state=state, health=Health())
    for n in range(trunks):
        for klass in ("normal", "busy", "rejected", "no_answer"):
            view.calls[(f"trunk{n:03d}", klass)] = n * 10
    view.findings = [Finding(code=f"code-{n % 6}", severity=Severity(n % 3), title="x",
                             subject=f"trunk{n:03d}") for n in range(min(30, trunks))]
    view.trunks = [f"trunk{n:03d}" for n in range(trunks)]
    return view


def scrape_times(view: WatchView, port: int, scrapes: int) -> list[float]:
    server = serve(view, "127.0.0.1", port)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        urllib.request.urlopen(url).read()  # warm up
        times = []
        for _ in range(scrapes):
            start = time.perf_counter()
            body = urllib.request.urlopen(url).read()
            times.append(time.perf_counter() - start)
        assert b"trunkconsole_up" in body
        return times
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trunks", type=int, default=100)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    base = scrape_times(view_with(0), 19595, args.scrapes)
    full = scrape_times(view_with(args.trunks), 19596, args.scrapes)
    for label, times in (("no trunk (baseline)", base), (f"{args.trunks} trunks", full)):
        ordered = sorted(times)
        print(f"{label:22} median {statistics.median(times) * 1000:6.2f} ms   "
              f"p99 {ordered[int(0.99 * len(ordered))] * 1000:6.2f} ms")
    ratio = statistics.median(full) / statistics.median(base)
    verdict = "OK" if statistics.median(full) <= 0.050 else "OVER"
    print(f"ratio {ratio:.1f}x the baseline; target <= 50 ms per scrape: {verdict}")


if __name__ == "__main__":
    main()
