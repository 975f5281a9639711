"""Firewall bench: the report for 100 providers and the load, against `nft -j list`.

Targets (issues 5 and 10): the full provider report (SIP per transport + the RTP range,
100 providers) within 0.5 s once loaded; loading (nft -j list + iptables-save + ipset
save + parse + compile) within 2x of `nft -j list ruleset` alone, measured in the same
run on the same ruleset, loaded into a scratch network namespace (tcfw-bench-PID,
deleted afterwards). Two rulesets:
- synthetic: 5,000 rules, sets with 50,000 elements (interval, concat, vmap);
- realistic: what firewalld 1.3.3 and fail2ban 1.0.2 wrote (tests/fixtures/net
  firewalld-real + f2b-nftables captures), grown to a busy PBX: 300 rich rules in the
  shape firewalld writes them, 3,000 fail2ban bans per set, 1,000 in its ipset.
Needs root. Prints figures and ratios (wall clock, and CPU time beside it because this
machine is shared); not a test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from trunkconsole.net.collect import capture
from trunkconsole.net.engine import Engine
from trunkconsole.net.inputs import NetworkInputs, ProviderAddress, Transport
from trunkconsole.net.report import build_report

RULES = 5_000
ELEMENTS = 50_000
PROVIDERS = 100


def addr(n: int) -> str:
    return str(ipaddress.IPv4Address(0x0A000000 + n))  # 10.0.0.0/8: set contents only


def ruleset_text(rng: random.Random) -> str:
    banned = ", ".join(addr(n) for n in rng.sample(range(1, 1 << 24), 40_000))
    nets = ", ".join(f"{addr(i * 256)}/24" for i in range(1, 5_001))
    pairs = ", ".join(f"{addr(rng.randrange(1 << 24))} . {rng.randrange(1024, 65535)}"
                      for _ in range(5_000))
    chains = []
    per_chain = (RULES - 1_000) // 100
    vmap = ", ".join(f"{5100 + i} : jump cust{i}" for i in range(100))
    input_rules = [
        "ct state vmap { invalid : drop, established : accept, related : accept }",
        'iif "lo" accept',
        "ip saddr @banned drop",
        "ip saddr . th dport @pairs accept",
        f"meta l4proto {{ tcp, udp }} th dport vmap {{ {vmap} }}",
    ]
    for i in range(1_000 - len(input_rules) - 3):
        lo = 20001 + i * 40
        input_rules.append(f"ip saddr {addr(rng.randrange(1 << 24))} udp dport {lo}-{lo + 20} "
                           f"accept")
    input_rules += ["ip saddr @providers udp dport { 5060, 10000-20000 } accept",
                    "ip saddr @providers tcp dport { 5060, 5061 } accept",
                    "reject with icmpx admin-prohibited"]
    for c in range(100):
        rules = [f"ip saddr {addr(rng.randrange(1 << 24))} tcp dport {22 + j} accept"
                 for j in range(per_chain - 1)] + ["return"]
        chains.append(f"  chain cust{c} {{\n    " + "\n    ".join(rules) + "\n  }")
    return (f"table inet bench {{\n"
            f"  set banned {{ type ipv4_addr; flags timeout; elements = {{ {banned} }} }}\n"
            f"  set providers {{ type ipv4_addr; flags interval; elements = {{ {nets} }} }}\n"
            f"  set pairs {{ type ipv4_addr . inet_service; elements = {{ {pairs} }} }}\n"
            f"  chain input {{\n    type filter hook input priority 0; policy drop;\n    "
            + "\n    ".join(input_rules) + "\n  }\n" + "\n".join(chains) + "\n}\n")


def inputs() -> NetworkInputs:
    providers = tuple(ProviderAddress(f"p{i}", addr(256 * (i * 7 + 1) + 5)) for i in range(
        PROVIDERS))
    transports = (Transport("udp", "udp", "0.0.0.0", 5060), Transport("tcp", "tcp", "0.0.0.0",
                  5060), Transport("tls", "tls", "0.0.0.0", 5061))
    return NetworkInputs(providers, transports, 10000, 20000)


FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "net"


def realistic(ns: str, rng: random.Random) -> None:
    """firewalld + fail2ban captures loaded into ns, grown to a busy PBX's size."""
    def sh(*cmd: str, stdin: str | None = None) -> None:
        subprocess.run(["ip", "netns", "exec", ns, *cmd], input=stdin, text=True, check=True,
                       capture_output=True)

    sh("ipset", "restore", "-exist", stdin=(FIXTURES / "firewalld-real.ipset-save").read_text())
    for name in ("firewalld-real", "f2b-nftables"):
        items = json.loads((FIXTURES / f"{name}.json").read_text())["nftables"]
        skip = {("ip", "filter")} if name == "firewalld-real" else set()
        order = ("table", "chain", "set", "map", "ct helper", "rule")
        keep = [i for i in items if next(iter(i)) in order and (
            next(iter(i.values())).get("family"),
            next(iter(i.values())).get("table", next(iter(i.values())).get("name")))
            not in skip]
        keep.sort(key=lambda i: order.index(next(iter(i))))
        sh("nft", "-j", "-f", "-", stdin=json.dumps({"nftables": keep}))
    sh("iptables-nft-restore", "--noflush", stdin=(FIXTURES / "firewalld-real.save").read_text())
    sources = [p.address for p in inputs().providers[::2]]  # half the providers: rich rules
    sources += [addr(rng.randrange(1 << 24)) for _ in range(300 - len(sources))]
    rich = [f"add rule inet firewalld filter_IN_public_allow ip saddr {source} "
            f"{rng.choice(['udp', 'tcp'])} dport {rng.choice([5060, 5061, 5080])} accept"
            for source in sources]
    bans = ", ".join(str(ipaddress.IPv4Address(0xC0000000 + rng.randrange(1 << 20)))
                     for _ in range(3_000))
    f2b = [f"add element inet f2b-table {s} {{ {bans} }}" for s in (
        "addr-set-asterisk-udp", "addr-set-asterisk-tcp")]
    sh("nft", "-f", "-", stdin="\n".join(rich + f2b) + "\n")
    ipset = "".join(f"add f2b-asterisk-ipset-udp {addr(rng.randrange(1 << 24))}\n"
                    for _ in range(1_000))
    sh("ipset", "restore", "-exist", stdin=ipset)


WILD = Path(__file__).parent.parent / "tests" / "fixtures" / "net" / "wild"


def wild(ns: str, rng: random.Random) -> None:
    """The wild set's nftables ruleset (netdev ingress on wan0, vmaps, quota, meters) plus
    a table with a 100,000-element interval set dropping on the input hook."""
    subprocess.run(["ip", "-n", ns, "link", "add", "wan0", "type", "veth", "peer", "name",
                    "wan0p"], check=True)
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(WILD / "asterisk-nft.nft")],
                   check=True)
    big = ", ".join(addr(n) for n in rng.sample(range(1, 1 << 24), 100_000))
    text = (f"table inet big {{\n set blocked {{ type ipv4_addr; flags interval; "
            f"elements = {{ {big} }} }}\n chain input {{\n type filter hook input priority -5;"
            f"\n ip saddr @blocked drop\n }}\n}}\n")
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True,
                   check=True)


def timed(fn: object, runs: int = 5) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def cpu(fn: Callable[[], object], runs: int = 5) -> float:
    """Median CPU seconds of this process (children excluded)."""
    out = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return statistics.median(out)


def with_children(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and the processes it waited for)."""
    def used() -> float:
        me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    cpu_start, start = used(), time.perf_counter()
    fn()
    return time.perf_counter() - start, used() - cpu_start


PAIRS = 9


def measure(ns: str, title: str) -> None:
    """Load, then report for 100 providers, against `nft -j list ruleset` in this ns.

    Baseline and load alternate, PAIRS times, and the ratio is the median of the pairs'
    ratios: on a shared 2-core machine the load of others drifts within seconds."""
    engines: list[Engine] = []

    def baseline() -> None:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"],
                       capture_output=True, check=True)

    def load() -> None:  # one engine kept, as the watcher keeps one
        engines[:] = [Engine(capture(netns=ns).ruleset())]

    pairs = [(with_children(baseline), with_children(load)) for _ in range(PAIRS)]
    engine = engines[-1]
    rules, elements = engine.ruleset.rule_count(), engine.ruleset.element_count()
    data = inputs()
    reports = []
    report = timed(lambda: reports.append(build_report(data, engine.ruleset, None, None,
                                                       engine=engine)))
    report_cpu = cpu(lambda: build_report(data, engine.ruleset, None, None, engine=engine))
    last = reports[-1]
    verdicts = sum(len(r.sip) + (len(r.rtp.classes) if r.rtp else 0) for r in last.rows)
    depends = sum(1 for r in last.rows for v in r.sip.values() if v.decision.value == "depends")
    med = statistics.median
    nft_s, load_s = med(b[0] for b, _ in pairs), med(ld[0] for _, ld in pairs)
    nft_cpu, load_cpu = med(b[1] for b, _ in pairs), med(ld[1] for _, ld in pairs)
    ratio = med(ld[0] / b[0] for b, ld in pairs)
    report_s = med(report)
    print(f"{title}: {rules} rules, {elements} set elements "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"  nft -j list ruleset (baseline): {nft_s * 1000:.0f} ms wall, "
          f"{nft_cpu * 1000:.0f} ms CPU")
    print(f"  load (nft -j list + saves + parse + compile): {load_s * 1000:.0f} ms wall "
          f"= {ratio:.2f}x baseline (median of {PAIRS} alternating pairs; target <= 2x), "
          f"{load_cpu * 1000:.0f} ms CPU = {load_cpu / nft_cpu:.2f}x")
    print(f"  report, {PROVIDERS} providers x (3 SIP transports + RTP 10000-20000): "
          f"{report_s * 1000:.0f} ms wall, {report_cpu * 1000:.0f} ms CPU (target <= 500 ms), "
          f"{verdicts} verdicts/classes, {depends} SIP DEPENDS, {len(last.findings)} findings")


def main() -> int:
    if os.geteuid() != 0:
        print("bench_firewall needs root (a scratch network namespace)", file=sys.stderr)
        return 2
    rng = random.Random(5060)
    for title, load in (("synthetic", lambda ns: subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset_text(rng),
            text=True, check=True)), ("realistic firewalld + fail2ban", lambda ns: realistic(
                ns, rng)), ("wild nftables + 100k-element set", lambda ns: wild(ns, rng))):
        ns = f"tcfw-bench-{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            load(ns)
            measure(ns, title)
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
