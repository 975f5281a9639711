"""Replay a ruleset in scratch network namespaces and let the kernel judge real packets.

Reference §5.7/§5.8: a table `inet <probe>` with an input chain at priority 10000 records
in a dynamic set every (saddr, l4proto, dport, sport) that survived all earlier base
chains, so "arrived" means accepted by every hook the kernel ran, legacy tables included.
Everything happens inside two namespaces this module creates and deletes; the host's
firewall, routes and interfaces are never touched (every command runs under
`ip netns exec NAME` or `ip -n NAME`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from trunkconsole.errors import OperatorError
from trunkconsole.lab import netns
from trunkconsole.net.iptsave import BUILTIN
from trunkconsole.net.packet import Probe

PROBE_TABLE = "tcfw_probe"
FW_IF = "wan0"
PEER_IF = "peer0"
FW_V4 = "203.0.113.1"
FW_V6 = "2001:db8:1::1"
PROBE_RULES = f"""
table inet {PROBE_TABLE} {{
  set seen4 {{ type ipv4_addr . inet_proto . inet_service . inet_service; size 65535;
              flags dynamic; }}
  set seen6 {{ type ipv6_addr . inet_proto . inet_service . inet_service; size 65535;
              flags dynamic; }}
  chain input {{ type filter hook input priority 10000; policy accept;
    meta nfproto ipv4 add @seen4 {{ ip saddr . meta l4proto . th dport . th sport }}
    meta nfproto ipv6 add @seen6 {{ ip6 saddr . meta l4proto . th dport . th sport }}
  }}
}}
"""


def sh(cmd: list[str], *, stdin: str | None = None, check: bool = True) -> str:
    """Run one command; on failure raise with its stderr."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise OperatorError(f"{' '.join(cmd[:6])} failed", evidence=proc.stderr.strip()[-500:])
    return proc.stdout


@dataclass(frozen=True)
class Sent:
    """One probe packet as sent: the kernel reports it back by its unique source port."""

    probe: Probe
    sport: int


class Sandbox:
    """Two namespaces: NAME-fw (the firewall under test) and NAME-src (the senders)."""

    def __init__(self, name: str, sources: Iterable[str]) -> None:
        self.fw = f"{name}-fw"
        self.src = f"{name}-src"
        self.sources = list(dict.fromkeys(sources))
        self._next_port = 30000

    def create(self) -> None:
        for ns in (self.fw, self.src):
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        sh(["ip", "-n", self.fw, "link", "add", FW_IF, "type", "veth", "peer", "name", PEER_IF,
            "netns", self.src])
        sh(["ip", "-n", self.fw, "addr", "add", f"{FW_V4}/24", "dev", FW_IF])
        sh(["ip", "-n", self.fw, "addr", "add", f"{FW_V6}/64", "dev", FW_IF, "nodad"])
        sh(["ip", "-n", self.src, "addr", "add", "203.0.113.254/24", "dev", PEER_IF])
        sh(["ip", "-n", self.src, "addr", "add", "2001:db8:1::fe/64", "dev", PEER_IF, "nodad"])
        for address in self.sources:
            length = 32 if ipaddress.ip_address(address).version == 4 else 128
            sh(["ip", "-n", self.src, "addr", "add", f"{address}/{length}", "dev", PEER_IF,
                "nodad"] if length == 128 else
               ["ip", "-n", self.src, "addr", "add", f"{address}/{length}", "dev", PEER_IF],
               check=False)
        for ns, dev in ((self.fw, FW_IF), (self.src, PEER_IF)):
            sh(["ip", "-n", ns, "link", "set", dev, "up"])
        # Permanent neighbour entries: a ruleset that drops ICMPv6 neighbour discovery (or
        # ARP replies never matter) must not decide the fate of the UDP/TCP probes, and
        # a cached entry from an earlier ruleset must not make the result order-dependent.
        mac = json.loads(sh(["ip", "-j", "-n", self.fw, "link", "show", FW_IF]))[0]["address"]
        for address in (FW_V4, FW_V6):
            sh(["ip", "-n", self.src, "neigh", "replace", address, "lladdr", mac, "dev", PEER_IF,
                "nud", "permanent"])
        # routes back to every sender, so replies and reverse-path checks work
        for net in ("198.51.100.0/24", "192.0.2.0/24"):
            sh(["ip", "-n", self.fw, "route", "add", net, "dev", FW_IF])
        sh(["ip", "-n", self.fw, "-6", "route", "add", "2001:db8::/32", "dev", FW_IF])
        sh(["ip", "-n", self.src, "-6", "route", "add", "default", "dev", PEER_IF])
        sh(["ip", "netns", "exec", self.fw, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"])
        sh(["ip", "netns", "exec", self.fw, "sysctl", "-qw",
            f"net.ipv4.conf.{FW_IF}.rp_filter=0"])

    def destroy(self) -> None:
        for ns in (self.fw, self.src):
            if netns.namespace_path(ns).exists():
                sh(["ip", "netns", "del", ns], check=False)

    # --- rules ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty every nft and legacy table, then install the survivor probe."""
        sh(["ip", "netns", "exec", self.fw, "nft", "flush", "ruleset"])
        for tool, names_file in (("iptables-legacy", "ip_tables_names"),
                                 ("ip6tables-legacy", "ip6_tables_names")):
            names = sh(["ip", "netns", "exec", self.fw, "cat", f"/proc/net/{names_file}"],
                       check=False).split()
            for table in names:
                sh(["ip", "netns", "exec", self.fw, tool, "-t", table, "-F"], check=False)
                sh(["ip", "netns", "exec", self.fw, tool, "-t", table, "-X"], check=False)
                # -F keeps the builtin chains' policies: a DROP policy would outlive it
                for chain in BUILTIN.get(table, {}):
                    sh(["ip", "netns", "exec", self.fw, tool, "-t", table, "-P", chain,
                        "ACCEPT"], check=False)
        if shutil.which("ipset"):  # after the rules that reference them are gone
            sh(["ip", "netns", "exec", self.fw, "ipset", "destroy"], check=False)
        sh(["ip", "netns", "exec", self.fw, "nft", "-f", "-"], stdin=PROBE_RULES)

    def load_nft(self, text: str) -> None:
        sh(["ip", "netns", "exec", self.fw, "nft", "-f", "-"], stdin=text)

    def restore(self, tool: str, text: str) -> None:
        """iptables-nft-restore, ip6tables-nft-restore, iptables-legacy-restore... --noflush;
        `ipset` restores an `ipset save` dump."""
        if tool == "ipset":
            sh(["ip", "netns", "exec", self.fw, "ipset", "restore", "-exist"], stdin=text)
            return
        sh(["ip", "netns", "exec", self.fw, tool, "--noflush"], stdin=text)

    # --- packets ----------------------------------------------------------------------------

    def send(self, probes: Iterable[Probe],
             payload: Callable[[Probe, int], bytes] | None = None) -> list[Sent]:
        """Send one real packet per probe (UDP datagram or TCP SYN) from the src namespace;
        payload(probe, sport) gives a UDP datagram's bytes (default b"probe")."""
        sent: list[Sent] = []
        held: list[socket.socket] = []
        with netns.inside(self.src):
            for probe in probes:
                self._next_port = 30000 if self._next_port >= 65000 else self._next_port + 1
                sport = self._next_port
                family = socket.AF_INET6 if probe.family == 6 else socket.AF_INET
                dst = probe.dst or (FW_V6 if probe.family == 6 else FW_V4)
                kind = socket.SOCK_DGRAM if probe.proto == "udp" else socket.SOCK_STREAM
                sock = socket.socket(family, kind)
                sock.bind((probe.src, sport))
                if probe.proto == "udp":
                    data = b"probe" if payload is None else payload(probe, sport)
                    sock.sendto(data, (dst, probe.dport_lo))
                    sock.close()
                else:
                    sock.setblocking(False)
                    sock.connect_ex((dst, probe.dport_lo))
                    held.append(sock)
                sent.append(Sent(probe, sport))
        time.sleep(0.3)
        for sock in held:
            sock.close()
        return sent

    def survivors(self) -> set[tuple[str, str, int, int]]:
        """(saddr, proto, dport, sport) of every packet that reached priority 10000."""
        seen: set[tuple[str, str, int, int]] = set()
        for name in ("seen4", "seen6"):
            out = sh(["ip", "netns", "exec", self.fw, "nft", "-j", "list", "set", "inet",
                      PROBE_TABLE, name])
            for item in json.loads(out)["nftables"]:
                for elem in item.get("set", {}).get("elem", []):
                    value = elem["elem"]["val"] if "elem" in elem else elem
                    saddr, proto, dport, sport = value["concat"]
                    proto = {6: "tcp", 17: "udp"}.get(proto, proto)
                    seen.add((str(ipaddress.ip_address(saddr)), str(proto), int(dport),
                              int(sport)))
        return seen

    def arrived(self, sent: list[Sent]) -> dict[Sent, bool]:
        seen = self.survivors()
        return {s: (str(ipaddress.ip_address(s.probe.src)), s.probe.proto, s.probe.dport_lo,
                    s.sport) in seen for s in sent}


@contextmanager
def sandbox(name: str, sources: Iterable[str]) -> Iterator[Sandbox]:
    """A created sandbox that is deleted afterwards, whatever happens."""
    if os.geteuid() != 0:
        raise OperatorError("the sandbox needs root (network namespaces)", fix="run as root")
    box = Sandbox(name, sources)
    try:
        box.create()
        yield box
    finally:
        box.destroy()
