"""The kernel judges the rulesets real tools wrote (captured by fixtures/net/realtools.py).

Each capture (nft JSON, iptables-nft and legacy saves, ipset save, from firewalld,
fail2ban's actions, ufw, iptables-persistent, the CrowdSec bouncer, FreePBX's and Docker's
chains) is loaded back into a scratch namespace exactly as dumped: ipsets with `ipset
restore`, native nft tables with `nft -j -f`, iptables tables with *-restore. Real
packets are sent; the engine reads the namespace through the production collector and
must agree on every packet whose fate the rules decide. DEPENDS is allowed only where a
rule's outcome depends on state outside the files (rate limits, `recent` lists).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.netns.test_kernel_agreement import (
    PORTS,
    SOURCES_V4,
    SOURCES_V6,
    Tally,
    _require_root,
    engine_for,
    judge,
    probes,
)
from trunkconsole.net.packet import Probe
from trunkconsole.net.sandbox import FW_IF, FW_V4, Sandbox, sandbox, sh

FIXTURES = Path(__file__).parent.parent / "fixtures" / "net"
SOURCES = [*SOURCES_V4, "192.0.2.1", "10.10.1.1", *SOURCES_V6, "2001:db8:6::10"]
REAL_PORTS = sorted({*PORTS, 443, 546, 4000, 5062, 8080})
KINDS = ("table", "chain", "set", "map", "ct helper", "counter", "quota", "limit", "rule")


def _limit(*ports: int, proto: str = "tcp") -> Callable[..., bool]:
    return lambda p: p.proto == proto and p.dport_lo in ports


# name -> (captures loaded in order, companion nft text or "", undecidable probes)
REAL: dict[str, tuple[list[str], str, Callable[..., bool]]] = {
    "firewalld 1.3.3 + fail2ban firewallcmd-rich-rules/ipset bans": (
        ["firewalld-real"], "", _limit(2222)),  # rich rule `limit value="10/m"`
    "fail2ban nftables-multiport/allports with bans": (
        ["f2b-nftables"], "legacy-companion.nft", lambda p: False),
    "fail2ban iptables-multiport/allports/ipset-proto6 with bans": (
        ["f2b-iptables"], "legacy-companion.nft", lambda p: False),
    "ufw 0.36.2": (["ufw-real"], "", _limit(2222)),  # `limit 2222/tcp`: xt_recent
    "iptables-persistent rules.v4/v6": (["persistent-real"], "", lambda p: False),
    # the responsive firewall's xt_recent tiers decide signalling from unknown hosts, and
    # fpbxratelimit decides rate-limited services (http/https here) from the external zone
    "FreePBX firewall (legacy iptables, ipsets, RFW)": (
        ["freepbx-real"], "", lambda p: p.dport_lo in (5060, 5061, 4569) or (
            p.proto == "tcp" and p.dport_lo in (80, 443))),
    # tcp/8080 is DNATed to the container: it leaves the input path (tested below)
    "Docker 28 chains (iptables-nft, ipset, published port)": (
        ["docker-real"], "legacy-companion.nft", lambda p: False),
    "CrowdSec firewall bouncer 0.0.25, nftables mode": (
        ["crowdsec-nftables"], "legacy-companion.nft", lambda p: False),
    "CrowdSec firewall bouncer 0.0.25, iptables + ipset mode": (
        ["crowdsec-iptables"], "legacy-companion.nft", lambda p: False),
    # Docker 29's nftables backend: tables ip/ip6 docker-bridges, no input hook; tcp/8080
    # is DNATed to the container (leaves the input path: tested below)
    **{f"Docker 29 nftables mode ({config})": (
        [f"docker-nft/{config}"], "legacy-companion.nft", lambda p: False)
       for config in sorted(p.stem for p in (FIXTURES / "docker-nft").glob("*.nft"))},
}


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    result = Tally()
    yield result
    out = Path(os.environ.get("TRUNKCONSOLE_DIFF_RESULTS_REAL",
                              "/tmp/trunkconsole-differential-real.json"))
    out.write_text(json.dumps({"packets": result.packets, "agreements": result.agreements,
                               "depends": result.depends,
                               "disagreements": result.disagreements,
                               "per_ruleset": result.per_ruleset}, indent=2))


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    _require_root()
    with sandbox(f"tcfr-{os.getpid()}", SOURCES) as created:
        yield created


def _nft_items(document: dict[str, list[Any]], skip: set[tuple[str, str]]) -> str:
    """The nft-native tables of a listing, chains before rules (nft <= 1.0.9 needs it)."""
    items = [i for i in document["nftables"] if isinstance(i, dict)]
    keep = []
    for item in items:
        kind, body = next(iter(item.items()))
        if kind == "metainfo" or not isinstance(body, dict):
            continue
        table = (str(body.get("family")), str(body.get("table", body.get("name"))))
        if table not in skip:
            keep.append((KINDS.index(kind) if kind in KINDS else 5, item))
    keep.sort(key=lambda pair: pair[0])
    return json.dumps({"nftables": [item for _, item in keep]})


def _save_tables(text: str, family: str) -> set[tuple[str, str]]:
    return {(family, line[1:].strip()) for line in text.splitlines() if line.startswith("*")}


def load_capture(box: Sandbox, name: str) -> None:
    """Put one capture back into the sandbox's firewall namespace."""
    files = {suffix: FIXTURES / f"{name}.{suffix}" for suffix in (
        "ipset-save", "json", "save", "save6", "legacy-save", "legacy-save6")}
    if files["ipset-save"].exists():
        box.restore("ipset", files["ipset-save"].read_text())
    skip: set[tuple[str, str]] = set()
    for suffix, family in (("save", "ip"), ("save6", "ip6")):
        if files[suffix].exists():
            skip |= _save_tables(files[suffix].read_text(), family)
    if (FIXTURES / f"{name}.nft").exists():  # `nft list` text (Docker's nftables mode)
        box.load_nft((FIXTURES / f"{name}.nft").read_text())
    if files["json"].exists():
        document = json.loads(files["json"].read_text())
        sh(["ip", "netns", "exec", box.fw, "nft", "-j", "-f", "-"],
           stdin=_nft_items(document, skip))
    for suffix, tool in (("save", "iptables-nft-restore"), ("save6", "ip6tables-nft-restore"),
                         ("legacy-save", "iptables-legacy-restore"),
                         ("legacy-save6", "ip6tables-legacy-restore")):
        if files[suffix].exists():
            box.restore(tool, files[suffix].read_text())


@pytest.mark.netns
@pytest.mark.parametrize("name", list(REAL))
def test_real_tool_rulesets_agree_with_kernel(box: Sandbox, tally: Tally, name: str) -> None:
    captures, companion, undecidable = REAL[name]
    box.reset()
    if companion:
        box.load_nft((FIXTURES / companion).read_text())
    for capture in captures:
        load_capture(box, capture)
    tally.rulesets += 1
    batch = [p for p in probes(SOURCES, REAL_PORTS)
             if not (name.startswith("Docker") and p.proto == "tcp" and p.dport_lo == 8080)]
    problems = judge(box, tally, name, batch, undecidable)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.netns
@pytest.mark.parametrize("capture", [
    "docker-real", "docker-nft/hairpin=false,internal=false,icc=true,masq=true,snat=false,"
    "gwm=nat,bindlh=false"])
def test_docker_published_port_leaves_the_input_path(box: Sandbox, capture: str) -> None:
    """`-p 8080:80`: nat PREROUTING DNATs to the container (iptables chains, or nftables
    mode's `fib daddr type local` jump), so the kernel never hands the packet to INPUT and
    the engine says the forward hook decides."""
    box.reset()
    load_capture(box, capture)
    probe = Probe("198.51.100.7", 8080, proto="tcp", dst=FW_V4, iif=FW_IF, rpf_ok=True)
    arrived = box.arrived(box.send([probe]))
    assert list(arrived.values()) == [False]
    verdict = engine_for(box).evaluate(probe)
    assert any("forward hook decides" in note for note in verdict.notes), verdict.notes
    assert any("DNAT" in step.text or "dnat" in step.action
               for o in verdict.outcomes for step in o.path)
