"""Bench: a pjsip.conf with 10,000 IP trunks (about 130,000 lines, templates used).

Measures parse + resolve + lint of the whole config directory against two baselines taken
in the same run: reading the file and splitting it into lines, and Asterisk itself, the
lab's Asterisk 22 doing a warm `module reload res_pjsip.so` of the same file (its own
lab, named cfgbench; needs root). Checks the round trip is byte-exact. Targets: at most
0.2x Asterisk's warm reload and 0.5 s. Not a test.

Wall-clock figures on a shared machine include waiting for a CPU: the bench prints the
load average before and after, and the CPU time of the best run beside it. The first run
is the one without warm caches (parse_match, known option names).

    .venv/bin/python bench/bench_config.py [TRUNKS] [--no-asterisk] [--keep] [--lab=NAME]
"""

from __future__ import annotations

import os
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


def best(runs: int, work: Callable[[], object],
         times: list[float] | None = None) -> tuple[float, float]:
    times = [] if times is None else times
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
        del result  # freeing the object graph is not part of the measurement
    return min(times), statistics.median(times)


LAB = "cfgbench"  # --lab=NAME: another name, beside labs of the same name prefix
RELOADS = 3


def asterisk_reloads(config: Path, trunks: int,
                     keep: bool) -> tuple[float, list[float], bool] | str:
    """The lab Asterisk on the same pjsip.conf: (first load, warm reloads, last trunk
    loaded), or why the baseline is unavailable.

    res_sorcery_config reloads with CONFIG_FLAG_FILEUNCHANGED: an untouched file is not
    parsed again at all, so every reload is preceded by a new mtime (as an edit would).
    """
    if os.geteuid() != 0:
        return "not root (the lab needs network namespaces and a chroot)"
    from trunkconsole.lab.lab import Lab

    name = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--lab=")), LAB)
    lab = Lab(name)
    try:
        lab.up(log=lambda _m: None)
    except Exception as exc:  # the lab cannot start here: say so, measure the rest
        return f"the lab did not start: {exc}"
    try:
        target = Path(lab.config_dir) / "pjsip.conf"
        target.write_bytes(config.read_bytes())
        with lab.ami(timeout=300) as ami:
            start = time.perf_counter()
            ami.command("module reload res_pjsip.so")
            first = time.perf_counter() - start
            # The last trunk of the file is there: the reload went through to the end.
            last = ami.command(f"pjsip show endpoint trunk{trunks - 1:05d}")
            loaded = any(f"trunk{trunks - 1:05d}" in line and "Endpoint:" in line
                         for line in last)
            warm = []
            for _ in range(RELOADS):
                now = time.time()
                os.utime(target, (now, now))
                start = time.perf_counter()
                ami.command("module reload res_pjsip.so")
                warm.append(time.perf_counter() - start)
        return first, warm, loaded
    finally:
        if not keep:
            lab.down(log=lambda _m: None)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: above the CPU count, figures are inflated."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    trunks = int(args[0]) if args else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = generate(directory, trunks)
        data = path.read_bytes()
        lines = data.count(b"\n")
        print(f"pjsip.conf: {trunks} trunks, {lines} lines, {len(data) / 1e6:.1f} MB")
        print(f"load average before:       {load_average()}  ({os.cpu_count()} CPUs)")

        def baseline() -> object:
            return path.read_text().split("\n")

        cpu: list[float] = []

        def full() -> object:
            start = time.process_time()
            system = load_asterisk(directory)
            findings = config_findings(system)
            cpu.append(time.process_time() - start)
            # Both go back to best(), which frees them after the clock stops: returning only
            # the findings freed the whole object graph inside the measurement.
            return system, findings

        base_min, base_med = best(7, baseline)
        runs: list[float] = []
        full_min, full_med = best(5, full, runs)
        print(f"load average after:        {load_average()}")
        cpu_min = min(cpu)
        system = load_asterisk(directory)
        findings = config_findings(system)
        objects = len(system.pjsip.objects)
        doc = ConfigFile.read(path)
        exact = doc.render() == data
        print(f"baseline read+split:       min {base_min * 1000:7.1f} ms  "
              f"median {base_med * 1000:7.1f} ms")
        print(f"parse+resolve+lint:        min {full_min * 1000:7.1f} ms  "
              f"median {full_med * 1000:7.1f} ms  ({objects} objects, {len(findings)} findings)")
        print(f"  first run (cold caches): {runs[0] * 1000:7.1f} ms; CPU "
              f"{cpu_min * 1000:.1f} ms min (process time: what the load on the machine "
              "adds is waiting)")
        print(f"ratio to baseline (min):   {full_min / base_min:.1f}x")
        print(f"round trip byte-exact:     {exact}")
        verdict = "OK" if full_min < 0.5 and exact else "OVER BUDGET"
        print(f"budget 500 ms:             {verdict}")
        asterisk = ("--no-asterisk given" if "--no-asterisk" in sys.argv
                    else asterisk_reloads(path, trunks, keep="--keep" in sys.argv))
        if isinstance(asterisk, str):
            print(f"Asterisk baseline:         unavailable ({asterisk})")
            return
        first, warm, loaded = asterisk
        warm_min = min(warm)
        print(f"Asterisk first load:       {first * 1000:7.1f} ms  (last trunk loaded: {loaded})")
        print(f"Asterisk warm reload:      min {warm_min * 1000:7.1f} ms  "
              f"median {statistics.median(warm) * 1000:7.1f} ms  ({len(warm)} reloads)")
        ratio = full_min / warm_min
        print(f"ratio to Asterisk reload:  {ratio:.2f}x  (target <= 0.20x)")
        met = ratio <= 0.2 and full_min <= 0.5
        print(f"targets (0.2x, 500 ms):    {'OK' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
