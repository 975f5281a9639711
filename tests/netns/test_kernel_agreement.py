"""The kernel is the judge: real packets through real rulesets, compared with the engine.

Each ruleset is loaded into a scratch namespace (tcfw-PID-fw) with nft, iptables-nft or
iptables-legacy; real UDP datagrams and TCP SYNs are sent from many source addresses in
tcfw-PID-src; a priority-10000 input chain records which ones survived every hook. The
engine reads the same namespace with the production collector and must agree on every
ACCEPT and DROP. DEPENDS is allowed only for probes a rule really leaves undecided, and
then the kernel's answer must be one of its outcomes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from trunkconsole.errors import OperatorError
from trunkconsole.net.collect import capture
from trunkconsole.net.engine import Engine
from trunkconsole.net.ir import Ruleset
from trunkconsole.net.packet import Probe
from trunkconsole.net.sandbox import FW_IF, FW_V4, FW_V6, PROBE_TABLE, Sandbox, sandbox
from trunkconsole.net.values import PortSpan  # noqa: F401  (documents the RTP class probes)
from trunkconsole.net.verdict import Decision

FIXTURES = Path(__file__).parent.parent / "fixtures" / "net"
SOURCES_V4 = ["203.0.113.10", "203.0.113.15", "203.0.113.16", "203.0.113.66", "198.51.100.7",
              "198.51.100.8", "198.51.100.77", "198.51.100.200", "192.0.2.66", "192.0.2.77",
              "192.0.2.110", "192.0.2.50"]
SOURCES_V6 = ["2001:db8:5060::1", "2001:db8:6::9"]
PORTS = [22, 2222, 4569, 4570, 5060, 5061, 5080, 10000, 10049, 10050, 14999, 15000, 19999,
         20000, 20001]
TOOLS = ("nft", "ip", "iptables-nft-restore", "iptables-legacy-restore")
RESULTS = Path(os.environ.get("TRUNKCONSOLE_DIFF_RESULTS", "/tmp/trunkconsole-differential.json"))


def _require_root() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    reason = ""
    if os.geteuid() != 0:
        reason = "kernel agreement tests need root (network namespaces, nft)"
    elif missing:
        reason = f"missing tools: {', '.join(missing)} (apt-get install nftables iptables iproute2)"
    if reason:
        if os.environ.get("TRUNKCONSOLE_REQUIRE_LAB") == "1":
            pytest.fail(f"TRUNKCONSOLE_REQUIRE_LAB=1 but {reason}")
        pytest.skip(reason)


@dataclass
class Tally:
    rulesets: int = 0
    packets: int = 0
    agreements: int = 0
    depends: int = 0
    disagreements: list[str] = field(default_factory=list)
    per_ruleset: dict[str, dict[str, int]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    result = Tally()
    yield result
    summary = {"rulesets": result.rulesets, "packets": result.packets,
               "agreements": result.agreements, "depends": result.depends,
               "disagreements": len(result.disagreements), "per_ruleset": result.per_ruleset}
    RESULTS.write_text(json.dumps(summary, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nkernel agreement: {result.rulesets} rulesets, {result.packets} packets, "
            f"{result.agreements} agreements, {result.depends} DEPENDS, "
            f"{len(result.disagreements)} disagreements (details in {RESULTS})")


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    _require_root()
    with sandbox(f"tcfw-{os.getpid()}", SOURCES_V4 + SOURCES_V6) as created:
        yield created


def engine_for(box: Sandbox) -> Engine:
    """Read the namespace exactly as `trunkconsole firewall` reads a host, minus the probe."""
    ruleset = capture(netns=box.fw).ruleset()
    ruleset = Ruleset([t for t in ruleset.tables if t.name != PROBE_TABLE], ruleset.nft_version,
                      ruleset.notes)
    return Engine(ruleset, local_addresses=[FW_V4, FW_V6])


def probes(sources: list[str], ports: list[int]) -> list[Probe]:
    return [Probe(src, port, proto=proto, dst=FW_V6 if ":" in src else FW_V4, iif=FW_IF,
                  rpf_ok=True)
            for src in sources for port in ports for proto in ("udp", "tcp")]


def judge(box: Sandbox, tally: Tally, name: str, batch: list[Probe],
          undecidable: Callable[[Probe], bool] = lambda p: False) -> list[str]:
    """Send the batch, compare every packet with the engine; return the disagreements."""
    engine = engine_for(box)
    # Packets that hit a dynset (`update @banned {...}` on udp/5060 in native.nft) add their
    # source to a set other rules read: send them last so every packet meets the snapshot
    # the engine read.
    batch = sorted(batch, key=lambda p: p.proto == "udp" and p.dport_lo == 5060)
    arrived = box.arrived(box.send(batch))
    stats = tally.per_ruleset.setdefault(name, {"packets": 0, "agreements": 0, "depends": 0})
    problems: list[str] = []
    for sent, got_in in arrived.items():
        verdict = engine.evaluate(sent.probe)
        kernel = Decision.ACCEPT if got_in else Decision.DROP
        tally.packets += 1
        stats["packets"] += 1
        line = f"{name}: {sent.probe.describe()} kernel={kernel.value} engine={verdict.summary()}"
        if verdict.decision is Decision.DEPENDS:
            tally.depends += 1
            stats["depends"] += 1
            if not undecidable(sent.probe):
                problems.append(f"unexpected DEPENDS: {line}")
            elif kernel not in {o.decision for o in verdict.outcomes}:
                problems.append(f"kernel outside the DEPENDS outcomes: {line}")
        elif verdict.decision is kernel:
            tally.agreements += 1
            stats["agreements"] += 1
        else:
            problems.append(line)
    tally.disagreements.extend(problems)
    return problems


def judge_rtp_classes(box: Sandbox, tally: Tally, name: str, sources: list[str]) -> list[str]:
    """The RTP split: the kernel must agree at both ends and the middle of every class."""
    engine = engine_for(box)
    batch: list[Probe] = []
    expected: dict[tuple[str, int], Decision] = {}
    for src in sources:
        whole = Probe(src, 10000, 20000, dst=FW_V6 if ":" in src else FW_V4, iif=FW_IF,
                      rpf_ok=True)
        for cls in engine.evaluate_range(whole).classes:
            for port in sorted({cls.lo, (cls.lo + cls.hi) // 2, cls.hi}):
                batch.append(whole.with_ports(port, port))
                expected[(src, port)] = cls.verdict.decision
    arrived = box.arrived(box.send(batch))
    problems = []
    for sent, got_in in arrived.items():
        want = expected[(sent.probe.src, sent.probe.dport_lo)]
        tally.packets += 1
        if want is Decision.DEPENDS:
            tally.depends += 1
            continue
        if (want is Decision.ACCEPT) == got_in:
            tally.agreements += 1
        else:
            problems.append(f"{name} RTP class: {sent.probe.describe()} class={want.value} "
                            f"kernel={'accept' if got_in else 'drop'}")
    tally.disagreements.extend(problems)
    return problems


def _ufw_limit(p: Probe) -> bool:
    return p.proto == "tcp" and p.dport_lo == 2222  # `-m recent --hitcount 6`: rate-dependent


def _native_meter(p: Probe) -> bool:
    return False  # the meter rule (#24) drops either way: no DEPENDS expected


HAND_WRITTEN: dict[str, tuple[list[tuple[str, str]], Callable[[Probe], bool]]] = {
    "native nft (sets, vmap, concat, meter, 2 tables)": ([("nft", "native.nft")], _native_meter),
    "ufw via iptables-nft (multiport, conntrack, recent)": (
        [("iptables-nft-restore", "ufw.rules"), ("ip6tables-nft-restore", "ufw6.rules")],
        _ufw_limit),
    "firewalld-style zones (ct helper, fib rpfilter)": ([("nft", "firewalld.nft")],
                                                        lambda p: False),
    "fail2ban ban set + iptables-nft f2b chain": (
        [("nft", "fail2ban.nft"), ("iptables-nft-restore", "fail2ban-iptables.rules")],
        lambda p: False),
    "legacy iptables + nft": ([("nft", "legacy-companion.nft"),
                               ("iptables-legacy-restore", "legacy.rules")], lambda p: False),
    "ipsets (hash:ip timeout, hash:net nomatch, ip,port, bitmap:port, list:set)": (
        [("ipset", "ipsets.ipset"), ("iptables-legacy-restore", "ipsets.rules"),
         ("ip6tables-nft-restore", "ipsets6.rules")], lambda p: False),
}


@pytest.mark.netns
@pytest.mark.parametrize("name", list(HAND_WRITTEN))
def test_hand_written_rulesets_agree_with_kernel(box: Sandbox, tally: Tally, name: str) -> None:
    loads, undecidable = HAND_WRITTEN[name]

    def load() -> None:
        box.reset()
        for tool, filename in loads:
            text = (FIXTURES / filename).read_text()
            if tool == "nft":
                box.load_nft(text)
            else:
                box.restore(tool, text)

    load()
    tally.rulesets += 1
    problems = judge(box, tally, name, probes(SOURCES_V4 + SOURCES_V6, PORTS), undecidable)
    load()  # fresh dynamic sets for the RTP classes
    problems += judge_rtp_classes(box, tally, name, SOURCES_V4[:6] + SOURCES_V6)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.netns
def test_legacy_drop_is_named_ahead_of_nft_accept(box: Sandbox) -> None:
    box.reset()
    box.load_nft((FIXTURES / "legacy-companion.nft").read_text())
    box.restore("iptables-legacy-restore", (FIXTURES / "legacy.rules").read_text())
    verdict = engine_for(box).evaluate(Probe("192.0.2.66", 5060, dst=FW_V4, iif=FW_IF))
    assert verdict.decision is Decision.DROP
    assert verdict.deciding is not None
    assert verdict.deciding.label == "legacy ip filter INPUT rule 1 (iptables-legacy)"
    assert any("helper 'sip'" in note for note in verdict.notes)


# --- random rulesets ---------------------------------------------------------------------------

V4_VALUES = ["203.0.113.10", "198.51.100.7", "192.0.2.66", "198.51.100.0/24", "203.0.113.0/28",
             "192.0.2.64/26", "203.0.113.10-203.0.113.20"]
V6_VALUES = ["2001:db8:5060::1", "2001:db8:5060::/48", "2001:db8:6::/48"]
PORT_VALUES = ["22", "5060", "5061", "10000", "15000", "5060-5061", "10000-14999",
               "15000-20000"]
RANDOM_SOURCES = ["203.0.113.10", "203.0.113.15", "198.51.100.7", "198.51.100.200",
                  "192.0.2.66", "192.0.2.110", "2001:db8:5060::1", "2001:db8:6::9"]
RANDOM_PORTS = [22, 5060, 5061, 10000, 14999, 15000, 20000]


@st.composite
def _match(draw: st.DrawFn, family: str, sets: dict[str, str]) -> str:
    kinds = ["dport", "l4proto", "iif", "ct", "vset"]
    kinds += ["saddr4", "concat"] if family in ("ip", "inet") else []
    kinds += ["saddr6"] if family in ("ip6", "inet") else []
    kind = draw(st.sampled_from(kinds))
    neg = draw(st.sampled_from(["", "", "!= "]))
    if kind == "saddr4":
        if draw(st.booleans()) and "s4" in sets:
            return f"ip saddr {neg}@s4"
        values = draw(st.lists(st.sampled_from(V4_VALUES), min_size=1, max_size=3, unique=True))
        return f"ip saddr {neg}" + (values[0] if len(values) == 1 else
                                    "{ " + ", ".join(values) + " }")
    if kind == "saddr6":
        values = draw(st.lists(st.sampled_from(V6_VALUES), min_size=1, max_size=2, unique=True))
        return f"ip6 saddr {neg}" + (values[0] if len(values) == 1 else
                                     "{ " + ", ".join(values) + " }")
    if kind == "dport":
        proto = draw(st.sampled_from(["udp", "tcp", "th"]))
        pre = "meta l4proto { tcp, udp } " if proto == "th" else ""
        if draw(st.integers(0, 4)) == 0:
            op = draw(st.sampled_from(["<", ">=", "<=", ">"]))
            return f"{pre}{proto} dport {op} {draw(st.sampled_from(['5061', '10000', '15000']))}"
        if draw(st.booleans()) and "p" in sets:
            return f"{pre}{proto} dport {neg}@p"
        values = draw(st.lists(st.sampled_from(PORT_VALUES), min_size=1, max_size=3,
                               unique=True))
        return f"{pre}{proto} dport {neg}" + (values[0] if len(values) == 1 else
                                              "{ " + ", ".join(values) + " }")
    if kind == "l4proto":
        return draw(st.sampled_from(["meta l4proto udp", "meta l4proto tcp",
                                     "meta l4proto != udp", "meta l4proto { tcp, udp }"]))
    if kind == "iif":
        return draw(st.sampled_from(['iifname "wan0"', 'iifname != "wan0"', 'iifname "wan*"',
                                     'iifname "lan*"', 'iif "lo"']))
    if kind == "ct":
        return draw(st.sampled_from(["ct state new", "ct state established,related",
                                     "ct state != new", "ct state { new, untracked }"]))
    if kind == "concat":
        return "ip saddr . th dport @c4" if "c4" in sets else "meta l4proto udp"
    return "th dport vmap { 5060 : accept, 10000-14999 : drop }"


@st.composite
def random_ruleset(draw: st.DrawFn) -> str:
    tables = []
    for t in range(draw(st.integers(1, 3))):
        family = draw(st.sampled_from(["inet", "ip", "ip6"]))
        hook = draw(st.sampled_from(["input", "input", "prerouting"]))
        sets: dict[str, str] = {}
        if family in ("ip", "inet") and draw(st.booleans()):
            elems = draw(st.lists(st.sampled_from(V4_VALUES[:6]), min_size=1, max_size=4,
                                  unique=True))
            sets["s4"] = ("set s4 { type ipv4_addr; flags interval; auto-merge; elements = { "
                          + ", ".join(elems) + " } }")
        if draw(st.booleans()):
            elems = draw(st.lists(st.sampled_from(PORT_VALUES), min_size=1, max_size=3,
                                  unique=True))
            sets["p"] = ("set p { type inet_service; flags interval; auto-merge; elements = { "
                         + ", ".join(elems) + " } }")
        if family in ("ip", "inet") and draw(st.booleans()):
            sets["c4"] = ("set c4 { type ipv4_addr . inet_service; flags interval; "
                          "elements = { 198.51.100.0/24 . 10000-20000, 203.0.113.10 . 5060 } }")
        n_regular = draw(st.integers(0, 3))
        verdicts_base = ["accept", "drop", "continue", "return", "counter"]
        if hook == "input":
            verdicts_base.append("reject")
        chains = []
        for index in range(-draw(st.integers(1, 2)), n_regular):
            is_base = index < 0
            targets = [f"c{j}" for j in range(max(index + 1, 0), n_regular)]
            rules = []
            for _ in range(draw(st.integers(0, 5))):
                matches = draw(st.lists(_match(family, sets), min_size=0, max_size=3))
                choices = verdicts_base + [f"jump {x}" for x in targets] + \
                    [f"goto {x}" for x in targets]
                verdict = draw(st.sampled_from(choices))
                if any("vmap" in m for m in matches):
                    matches = [m for m in matches if "vmap" not in m] + \
                        [next(m for m in matches if "vmap" in m)]
                    verdict = ""
                rules.append(" ".join([*matches, verdict]).strip() or "counter")
            body = "\n        ".join(rules)
            if is_base:
                prio = draw(st.sampled_from([-200, -10, 0, 0, 10, 100]))
                policy = draw(st.sampled_from(["accept", "accept", "drop"]))
                head = f"type filter hook {hook} priority {prio}; policy {policy};"
                chains.append(f"    chain b{-index} {{\n        {head}\n        {body}\n    }}")
            else:
                chains.append(f"    chain c{index} {{\n        {body}\n    }}")
        set_text = "".join(f"    {s}\n" for s in sets.values())
        tables.append(f"table {family} t{t} {{\n{set_text}" + "\n".join(chains) + "\n}\n")
    return "\n".join(tables)


@pytest.mark.netns
@settings(max_examples=int(os.environ.get("TRUNKCONSOLE_RANDOM_RULESETS", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(text=random_ruleset())
def test_random_rulesets_agree_with_kernel(box: Sandbox, tally: Tally, text: str) -> None:
    box.reset()
    try:
        box.load_nft(text)
    except OperatorError as exc:  # e.g. "conflicting protocols specified: udp vs. tcp"
        if "Error:" not in exc.evidence:
            raise
        reject()
    tally.rulesets += 1
    batch = [replace(p, sport=None) for p in probes(RANDOM_SOURCES, RANDOM_PORTS)]
    problems = judge(box, tally, "random", batch)
    problems += judge_rtp_classes(box, tally, "random", RANDOM_SOURCES[:3])
    assert not problems, text + "\n" + "\n".join(problems[:10])


LAB_CONFIG = Path(__file__).parent.parent.parent / "sample-configs" / "lab"


@pytest.mark.netns
def test_lab_report_accepts_the_carrier_then_names_the_rule_that_drops_rtp(box: Sandbox) -> None:
    """The lab's pjsip.conf/rtp.conf against a PBX-like namespace (203.0.113.1)."""
    from trunkconsole.net.gather import gather_report

    box.reset()
    box.load_nft("table inet pbx {\n chain input {\n  type filter hook input priority 0; "
                 "policy drop;\n  ct state established,related accept\n"
                 "  ip saddr 203.0.113.10 udp dport 5060 accept\n"
                 "  udp dport 10000-10099 accept\n }\n}\n")
    report = gather_report(LAB_CONFIG, netns=box.fw)
    (row,) = [r for r in report.rows if r.address.address == "203.0.113.10"]
    assert row.iif == FW_IF
    assert row.sip["transport-udp"].decision is Decision.ACCEPT
    assert row.rtp is not None
    assert row.rtp.decision is Decision.ACCEPT
    box_nft(box, "insert", "rule", "inet", "pbx", "input", "udp", "dport", "10050-10099",
            "drop")
    report = gather_report(LAB_CONFIG, netns=box.fw)
    (row,) = [r for r in report.rows if r.address.address == "203.0.113.10"]
    assert row.rtp is not None
    assert row.rtp.summary().startswith("10000-10049 accepted by inet pbx input #")
    assert "10050-10099 dropped by inet pbx input #" in row.rtp.summary()
    titles = [f.title for f in report.findings if f.code == "network-rtp-blocked"]
    assert titles
    assert "udp dport 10050-10099 drop" in str(
        [f.evidence for f in report.findings if f.code == "network-rtp-blocked"])


def box_nft(box: Sandbox, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", box.fw, "nft", *args], check=True,
                          capture_output=True, text=True).stdout
