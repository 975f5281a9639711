"""Firewall bench: 5,000 rules, sets with 50,000 elements, the report for 100 providers.

Targets (issue 5): the full provider report (SIP per transport + the RTP range, 100
providers) within 0.5 s once loaded; loading (nft -j list + parse + compile) within 2x of
`nft -j list ruleset` alone, measured in the same run on the same ruleset, which is loaded
into a scratch network namespace (tcfw-bench-PID) and deleted afterwards. Needs root.
Prints figures and ratios; not a test.
"""

from __future__ import annotations

import ipaddress
import os
import random
import statistics
import subprocess
import sys
import time

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


def timed(fn: object, runs: int = 5) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    if os.geteuid() != 0:
        print("bench_firewall needs root (a scratch network namespace)", file=sys.stderr)
        return 2
    ns = f"tcfw-bench-{os.getpid()}"
    text = ruleset_text(random.Random(5060))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True,
                       check=True)
        nft = timed(lambda: subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list",
                                            "ruleset"], capture_output=True, check=True))
        engines: list[Engine] = []
        load = timed(lambda: engines.append(Engine(capture(netns=ns).ruleset())))
        engine = engines[-1]
        rules, elements = engine.ruleset.rule_count(), engine.ruleset.element_count()
        data = inputs()
        reports = []
        report = timed(lambda: reports.append(build_report(data, engine.ruleset, None, None,
                                                           engine=engine)))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    last = reports[-1]
    verdicts = sum(len(r.sip) + (len(r.rtp.classes) if r.rtp else 0) for r in last.rows)
    nft_s, load_s, report_s = (statistics.median(x) for x in (nft, load, report))
    print(f"ruleset: {rules} rules, {elements} set elements")
    print(f"nft -j list ruleset (baseline): {nft_s * 1000:.0f} ms")
    print(f"load (nft -j list + parse + compile): {load_s * 1000:.0f} ms "
          f"= {load_s / nft_s:.2f}x baseline (target <= 2x)")
    print(f"report, {PROVIDERS} providers x (3 SIP transports + RTP 10000-20000): "
          f"{report_s * 1000:.0f} ms (target <= 500 ms), {verdicts} verdicts/classes, "
          f"{len(last.findings)} findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
