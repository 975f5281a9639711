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

import ipaddress
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.netns.test_kernel_agreement import _require_root, engine_for, probes
from tests.netns.test_real_tools_agreement import REAL_PORTS, SOURCES
from trunkconsole.net import payload
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
    # SIP from non-gateways goes through a meter (update @sip_meter4 {... limit rate})
    "SIP switch nftables.conf shape (meta protocol vmap, meters, netdev bogons, MSS)": (
        [("nft", "sip-switch.nft")],
        lambda p: p.dport_lo in (5060, 5061) and p.src not in (
            "198.51.100.7", "192.0.2.77", "203.0.113.66", "2001:db8:5060::1") and (
            p.family == 4 or p.proto == "udp")),
    "raw payload matches on SIP/RTP (@th, @nh)": (
        [("nft", "sip-payload.nft")], _ports(5080, proto="udp")),  # the TTL byte
    "ip6tables hardening (rt type 0, hl, icmp6, string, u32 on IPv6)": (
        [("ip6tables-legacy-restore", "asterisk-hardening6.rules")],
        _ports(22, proto="tcp")),  # -m limit
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


def judge_rtp_classes(box: Sandbox, tally: WildTally, name: str) -> list[str]:
    """The RTP range 10000-20000 split into classes: both ends and the middle of every
    class, as RTP packets, must meet the class's verdict in the kernel."""
    engine = engine_for(box)
    batch: list[Probe] = []
    expected: dict[tuple[str, int], Decision] = {}
    causes: dict[tuple[str, int], set[str]] = {}
    for src in [*SOURCES[:8], "2001:db8:5060::1", "2001:db8:6::9"]:
        whole = Probe(src, 10000, 20000, dst=FW_V6 if ":" in src else FW_V4, iif="wan0",
                      rpf_ok=True)
        for cls in engine.evaluate_range(whole).classes:
            for port in sorted({cls.lo, (cls.lo + cls.hi) // 2, cls.hi}):
                batch.append(whole.with_ports(port, port))
                expected[(src, port)] = cls.verdict.decision
                causes[(src, port)] = {c.state().split(":")[0]
                                       for c in cls.verdict.conditions} or {"?"}
    arrived = box.arrived(box.send(batch, payload=on_the_wire))
    stats = tally.per_set.setdefault(name, {"packets": 0, "agree": 0, "depends": 0})
    problems = []
    for sent, got_in in arrived.items():
        want = expected[(sent.probe.src, sent.probe.dport_lo)]
        tally.packets += 1
        stats["packets"] += 1
        if want is Decision.DEPENDS:
            stats["depends"] += 1
            for cause in causes[(sent.probe.src, sent.probe.dport_lo)]:
                tally.depends[cause] += 1
            continue
        if (want is Decision.ACCEPT) == got_in:
            tally.agreements += 1
            stats["agree"] += 1
        else:
            problems.append(f"{name} RTP class: {sent.probe.describe()} class={want.value} "
                            f"kernel={'accept' if got_in else 'drop'}")
    tally.disagreements.extend(problems)
    return problems


@pytest.mark.netns
@pytest.mark.parametrize("name", list(WILD_SETS))
def test_wild_rulesets_agree_with_kernel(box: Sandbox, tally: WildTally, name: str) -> None:
    loads, undecidable = WILD_SETS[name]
    load(box, loads)
    problems = judge_wild(box, tally, name, probes(SOURCES, PORTS), undecidable)
    load(box, loads)  # fresh meters and conntrack-free sets for the RTP classes
    problems += judge_rtp_classes(box, tally, name)
    assert not problems, _digest(problems)


def _digest(problems: list[str]) -> str:
    """Wrong verdicts first (each), then unexpected DEPENDS grouped by their unknowns."""
    wrong = [p for p in problems if not p.startswith("unexpected DEPENDS")]
    groups = Counter(p.rsplit(" [", 1)[-1] for p in problems if p not in wrong)
    lines = [f"{len(wrong)} wrong verdicts, {sum(groups.values())} unexpected DEPENDS", *wrong[:30]]
    lines += [f"DEPENDS x{n}: [{text}" for text, n in groups.most_common(15)]
    return "\n".join(lines)


# --- hostile shapes, generated (they come from no tool: their point is size and form) -------

def _hostile_iptables() -> tuple[str, str]:
    """ipsets and an iptables-save with unicode chain/set names and comments, a 3,000-rule
    chain, a 40-deep jump ladder with RETURN at every level, and goto chains."""
    ipset = ("create prov-☎ hash:ip family inet hashsize 1024 maxelem 65536\n"
             "add prov-☎ 203.0.113.15\n")
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":voip-☎é - [0:0]", ":long - [0:0]"]
    lines += [f":lad{i} - [0:0]" for i in range(40)]
    lines += ["-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
              '-A INPUT -m comment --comment "Zürich ☎ «carrier» \\"quoted\\"" -j voip-☎é',
              "-A INPUT -p udp -g long", "-A INPUT -j lad0"]
    lines += ["-A voip-☎é -m set --match-set prov-☎ src -m comment --comment \"☎\" -j ACCEPT",
              "-A voip-☎é -j RETURN"]
    for i in range(3000):  # none of these match a probe source: 10.x and 100.64.x
        net = f"10.{i // 250}.{i % 250}.0/24" if i % 2 else f"100.64.{i % 250}.{i // 250}"
        lines.append(f"-A long -s {net} -p udp -m udp --dport {5000 + i % 100} -j DROP")
    lines += ["-A long -s 198.51.100.0/24 -p udp -m udp --dport 10000:20000 -j ACCEPT",
              "-A long -j lad0"]
    for i in range(40):
        nxt = f"lad{i + 1}" if i < 39 else "ACCEPT"
        lines += [f"-A lad{i} -s 192.0.2.{i}/32 -j RETURN",
                  f"-A lad{i} -s 203.0.113.{i + 10}/32 -p tcp -j {'DROP' if i % 2 else 'ACCEPT'}",
                  f"-A lad{i} -p tcp -m tcp --dport {5000 + i} -j RETURN",
                  f"-A lad{i} -j {nxt}"]
    lines.append("COMMIT")
    return ipset, "\n".join(lines) + "\n"


DEPTH = 14


def _hostile_nft() -> str:
    """An inet table with a 100,000-element interval set, a 2,000-rule chain, unicode
    comments, a 14-deep jump chain mixing goto and return (nf_tables refuses more than 16
    levels, goto included: "Too many links", NFT_JUMP_STACK_SIZE)."""
    elements = ", ".join(f"198.18.{i // 256}.{i % 256}" if i < 65536 else
                         f"198.19.{(i - 65536) // 256}.{i % 256}" for i in range(100_000))
    rules = "\n".join(f"    ip saddr 100.64.{i % 250}.{i // 250} udp dport {5000 + i % 90} "
                      f'counter drop comment "règle {i} ☎"' for i in range(2000))
    ladder = "\n".join(
        f"  chain j{i} {{\n    ip saddr 198.51.100.{i} return\n"
        f"    tcp dport {5000 + i} {'drop' if i % 2 else 'accept'}\n"
        f"    {'goto' if i % 3 else 'jump'} j{i + 1}\n  }}" for i in range(DEPTH))
    return f"""table inet hostile {{
  set big {{ type ipv4_addr; flags interval; elements = {{ {elements}, 203.0.113.66 }} }}
  chain input {{
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ip saddr @big drop
{rules}
    meta l4proto {{ tcp, udp }} jump j0
    udp dport 10000-20000 accept comment "RTP ✓ \\u0007"
  }}
{ladder}
  chain j{DEPTH} {{
    ip saddr 203.0.113.0/24 accept
  }}
}}
"""


@pytest.mark.netns
def test_hostile_shapes_agree_with_kernel(box: Sandbox, tally: WildTally) -> None:
    ipset, save = _hostile_iptables()
    for name, loads in (("hostile legacy iptables (unicode, 3,000 rules, 40-deep ladder)",
                         [("ipset", ipset), ("iptables-legacy-restore", save)]),
                        ("hostile nft (100k set, 2,000 rules, 14-deep jump/goto)",
                         [("nft", _hostile_nft())])):
        box.reset()
        for tool, text in loads:
            if tool == "nft":
                box.load_nft(text)
            else:
                box.restore(tool, text)
        problems = judge_wild(box, tally, name, probes(SOURCES, PORTS), lambda p: False)
        assert not problems, _digest(problems)


def _random_payload_rules(seed: int) -> str:
    """Raw @th/@nh matches at random offsets and widths, half of them against the value the
    modelled probe really carries there (so they hit), half against another value."""
    rng = random.Random(seed)
    rules = []
    for _ in range(60):
        port = rng.choice([5060, 5061, 5080, 10000, 15000, 4569])
        base = rng.choice(["th", "th", "nh"])
        kind = payload.kind("udp", port, None)
        known = payload.transport(kind, port, None)
        if base == "nh":
            head = payload.network_header(4, 17, int(ipaddress.ip_address("198.51.100.7")),
                                          int(ipaddress.ip_address(FW_V4)))
            known = (head[0] + known[0], head[1] + known[1])
        width = rng.choice([8, 16, 32])
        offset = rng.randrange(0, len(known[0]) * 8 - width + 1, 8)
        real = payload.read_bits(known, offset, width)
        value = real if real is not None and rng.random() < 0.5 else rng.randrange(1 << width)
        family = "ip saddr 198.51.100.7 " if base == "nh" else ""
        rules.append(f"    {family}udp dport {port} @{base},{offset},{width} {value} drop")
    body = "\n".join(rules)
    return ("table inet rawfuzz {\n  chain input {\n    type filter hook input priority 0; "
            f"policy accept;\n{body}\n  }}\n}}\n")


@pytest.mark.netns
@pytest.mark.parametrize("seed", [5060, 5061, 10000])
def test_random_raw_payload_matches_agree_with_kernel(box: Sandbox, tally: WildTally,
                                                      seed: int) -> None:
    """A decided answer must be the kernel's; reads of unmodelled bits may DEPEND."""
    box.reset()
    box.load_nft(_random_payload_rules(seed))
    name = f"random raw payload matches (seed {seed})"
    batch = [p for p in probes(SOURCES, [5060, 5061, 5080, 10000, 15000, 4569])
             if p.proto == "udp"]
    problems = judge_wild(box, tally, name, batch, lambda p: True)
    assert not problems, _digest(problems)
