"""Breadth: rulesets real Asterisk hosts run that the tool captures do not cover.

Hardening as admins copy it from guides (xt_string scanner drops, recent, hashlimit,
connlimit, u32, ipsets with src,dst, raw CT helper/notrack, mangle marks, goto/RETURN),
nftables as admins write it (netdev ingress, vmaps with intervals and concatenations,
named counters/quotas, meters, ct helper objects, fib, raw @th payloads, several tables on
one hook), Debian's shipped examples, and hostile shapes (long chains, deep jump graphs,
unicode names, 100k-element sets). Each is loaded into a scratch namespace with the real
tool (nft -f, iptables-restore, iptables-legacy-restore, ipset restore); UDP probes carry
what the engine assumes they carry (trunkconsole.net.payload: an INVITE on signalling
ports, RTP elsewhere), TCP probes are SYNs. Every packet whose fate the files decide must
agree with the kernel; a DEPENDS must name state outside the files, and the kernel's fate
must be one of its outcomes. Totals (packets, agreements, DEPENDS by cause) are printed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.netns.test_kernel_agreement import _require_root, engine_for, probes
from tests.netns.test_real_tools_agreement import REAL_PORTS, SOURCES
from trunkconsole.net.packet import Probe
from trunkconsole.net.payload import datagram
from trunkconsole.net.sandbox import FW_V4, FW_V6, Sandbox, sandbox
from trunkconsole.net.verdict import Decision

WILD = Path(__file__).parent.parent / "fixtures" / "net" / "wild"
PORTS = sorted({*REAL_PORTS, 4570, 5062, 80})
RESULTS = Path(os.environ.get("TRUNKCONSOLE_DIFF_RESULTS_WILD",
                              "/tmp/trunkconsole-differential-wild.json"))


def _ports(*ports: int, proto: str = "") -> Callable[[Probe], bool]:
    return lambda p: p.dport_lo in ports and (not proto or p.proto == proto)


# name -> (loads in order: (tool, file in fixtures/net/wild), probes allowed to DEPEND)
WILD_SETS: dict[str, tuple[list[tuple[str, str]], Callable[[Probe], bool]]] = {
    # ssh: xt_recent; 2222: hashlimit; tcp 5060/5061: connlimit; udp 5060 voip: recent
    "Asterisk hardening guides, legacy iptables + ipsets": (
        [("ipset", "asterisk-hardening.ipset"),
         ("iptables-legacy-restore", "asterisk-hardening.rules")],
        lambda p: p.dport_lo in (22, 2222) or (p.dport_lo in (5060, 5061) and p.proto == "tcp")
        or (p.proto == "udp" and p.dport_lo == 5060)),
    "Asterisk hardening guides, iptables-nft + ipsets": (
        [("ipset", "asterisk-hardening.ipset"),
         ("iptables-nft-restore", "asterisk-hardening.rules")],
        lambda p: p.dport_lo in (22, 2222) or (p.dport_lo in (5060, 5061) and p.proto == "tcp")
        or (p.proto == "udp" and p.dport_lo == 5060)),
    # ssh: meter and limit rate over
    "nftables for Asterisk (netdev, vmaps, concat, quota, meter, @th)": (
        [("nft", "asterisk-nft.nft")], _ports(22, proto="tcp")),
    "Debian nftables examples: workstation.nft": (
        [("nft", "/usr/share/doc/nftables/examples/workstation.nft")], lambda p: False),
    "Debian nftables examples: ct_helpers.nft": (
        [("nft", "/usr/share/doc/nftables/examples/ct_helpers.nft")], lambda p: False),
}


class WildTally:
    def __init__(self) -> None:
        self.packets = 0
        self.agreements = 0
        self.depends: Counter[str] = Counter()
        self.disagreements: list[str] = []
        self.per_set: dict[str, dict[str, int]] = {}


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[WildTally]:
    result = WildTally()
    yield result
    RESULTS.write_text(json.dumps({
        "packets": result.packets, "agreements": result.agreements,
        "depends": sum(result.depends.values()), "depends_by_cause": dict(result.depends),
        "disagreements": result.disagreements, "per_set": result.per_set}, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nwild kernel agreement: {len(result.per_set)} rulesets, {result.packets} "
            f"packets, {result.agreements} agree, {sum(result.depends.values())} DEPENDS, "
            f"{len(result.disagreements)} disagreements")
        for cause, count in result.depends.most_common():
            reporter.write_line(f"  DEPENDS {count:4d}: {cause}")


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    _require_root()
    with sandbox(f"tcww-{os.getpid()}", SOURCES) as created:
        yield created


def load(box: Sandbox, loads: list[tuple[str, str]]) -> None:
    box.reset()
    for tool, filename in loads:
        text = (WILD / filename).read_text()
        if tool == "nft":
            # Debian's examples start with `flush ruleset`: it would remove the probe table
            text = "\n".join(line for line in text.splitlines()
                              if line.strip() != "flush ruleset")
            box.load_nft(text)
        else:
            box.restore(tool, text)


def on_the_wire(probe: Probe, sport: int) -> bytes:
    dst = probe.dst or (FW_V6 if probe.family == 6 else FW_V4)
    return datagram(probe.proto, probe.src, dst, probe.dport_lo, sport)


def judge_wild(box: Sandbox, tally: WildTally, name: str, batch: list[Probe],
               undecidable: Callable[[Probe], bool]) -> list[str]:
    engine = engine_for(box)
    arrived = box.arrived(box.send(batch, payload=on_the_wire))
    stats = tally.per_set.setdefault(name, {"packets": 0, "agree": 0, "depends": 0})
    problems: list[str] = []
    for sent, got_in in arrived.items():
        verdict = engine.evaluate(sent.probe)
        kernel = Decision.ACCEPT if got_in else Decision.DROP
        tally.packets += 1
        stats["packets"] += 1
        line = f"{name}: {sent.probe.describe()} kernel={kernel.value} engine={verdict.summary()}"
        if verdict.decision is Decision.DEPENDS:
            stats["depends"] += 1
            for cause in {c.state().split(":")[0] for c in verdict.conditions} or {"?"}:
                tally.depends[cause] += 1
            if not undecidable(sent.probe):
                unknowns = "; ".join(verdict.unknown_lines())
                problems.append(f"unexpected DEPENDS: {line} [{unknowns}]")
            elif kernel not in {o.decision for o in verdict.outcomes}:
                problems.append(f"kernel outside the DEPENDS outcomes: {line}")
        elif verdict.decision is kernel:
            tally.agreements += 1
            stats["agree"] += 1
        else:
            problems.append(line)
    tally.disagreements.extend(problems)
    return problems


@pytest.mark.netns
@pytest.mark.parametrize("name", list(WILD_SETS))
def test_wild_rulesets_agree_with_kernel(box: Sandbox, tally: WildTally, name: str) -> None:
    loads, undecidable = WILD_SETS[name]
    load(box, loads)
    problems = judge_wild(box, tally, name, probes(SOURCES, PORTS), undecidable)
    assert not problems, _digest(problems)


def _digest(problems: list[str]) -> str:
    """Wrong verdicts first (each), then unexpected DEPENDS grouped by their unknowns."""
    wrong = [p for p in problems if not p.startswith("unexpected DEPENDS")]
    groups = Counter(p.rsplit(" [", 1)[-1] for p in problems if p not in wrong)
    lines = [f"{len(wrong)} wrong verdicts, {sum(groups.values())} unexpected DEPENDS", *wrong[:30]]
    lines += [f"DEPENDS x{n}: [{text}" for text, n in groups.most_common(15)]
    return "\n".join(lines)
