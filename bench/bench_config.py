"""Bench: a pjsip.conf with 10,000 IP trunks (about 130,000 lines, templates used).

Measures parse + resolve + lint of the whole config directory against a baseline taken
in the same run (reading the file and splitting it into lines), and checks the round
trip is byte-exact. Target: under 0.5 s. Not a test.

    .venv/bin/python bench/bench_config.py [TRUNKS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trunkconsole.conf.document import ConfigFile
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk

HEADER = """\
; bench: {trunks} IP-authenticated trunks sharing templates
[global]
type=global
user_agent=bench

[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0:5060
external_media_address=198.51.100.10
external_signaling_address=198.51.100.10
local_net=192.168.0.0/16

[trunk-endpoint](!)
type=endpoint
transport=transport-udp
context=from-trunks
disallow=all
allow=alaw,ulaw
direct_media=no
rtp_symmetric=yes
force_rport=yes
rewrite_contact=yes
identify_by=ip

[trunk-aor](!)
type=aor
qualify_frequency=60

[trunk-identify](!)
type=identify

"""

TRUNK = """\
[trunk{n:05d}](trunk-endpoint)
aors=trunk{n:05d}
from_domain=trunk{n:05d}.example.net
callerid=Trunk {n} <{n}>

[trunk{n:05d}](trunk-aor)
contact=sip:[2001:db8:{hi:x}:{lo:x}::10]:5060

[trunk{n:05d}](trunk-identify)
endpoint=trunk{n:05d}
match=2001:db8:{hi:x}:{lo:x}::10 ; provider signalling
match=2001:db8:{hi:x}:{lo:x}::/120

"""


def generate(directory: Path, trunks: int) -> Path:
    parts = [HEADER.format(trunks=trunks)]
    parts.extend(TRUNK.format(n=n, hi=n // 256, lo=n % 256) for n in range(trunks))
    path = directory / "pjsip.conf"
    path.write_text("".join(parts))
    (directory / "extensions.conf").write_text("[from-trunks]\nexten => _X.,1,Answer()\n")
    (directory / "rtp.conf").write_text("[general]\nrtpstart=10000\nrtpend=20000\n")
    return path


def best(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
        del result  # freeing the object graph is not part of the measurement
    return min(times), statistics.median(times)


def main() -> None:
    trunks = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = generate(directory, trunks)
        data = path.read_bytes()
        lines = data.count(b"\n")
        print(f"pjsip.conf: {trunks} trunks, {lines} lines, {len(data) / 1e6:.1f} MB")

        def baseline() -> object:
            return path.read_text().split("\n")

        def full() -> object:
            system = load_asterisk(directory)
            return config_findings(system)

        base_min, base_med = best(7, baseline)
        full_min, full_med = best(5, full)
        system = load_asterisk(directory)
        findings = config_findings(system)
        objects = len(system.pjsip.objects)
        doc = ConfigFile.read(path)
        exact = doc.render() == data
        print(f"baseline read+split:       min {base_min * 1000:7.1f} ms  "
              f"median {base_med * 1000:7.1f} ms")
        print(f"parse+resolve+lint:        min {full_min * 1000:7.1f} ms  "
              f"median {full_med * 1000:7.1f} ms  ({objects} objects, {len(findings)} findings)")
        print(f"ratio to baseline (min):   {full_min / base_min:.1f}x")
        print(f"round trip byte-exact:     {exact}")
        verdict = "OK" if full_min < 0.5 and exact else "OVER BUDGET"
        print(f"budget 500 ms:             {verdict}")


if __name__ == "__main__":
    main()
