"""The temporary nftables table behind `firewall trace`: a firewall write, so it lives here.

`meta nftrace set 1` in a prerouting chain at priority -350 (before conntrack at -200 and
everything a tool writes) marks the source's packets; the kernel then reports every rule
and policy they meet to `nft monitor trace` (nftables src/trace.c; reference
firewall-and-network §5.8). The table is always removed: on exit (finally), and by a
guard process (changes/guard.py) when the time box ends or the process that made it
dies, SIGKILL included. Each trace has its own table name, so two traces never remove
each other's table; the audit log records both the write and the removal.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkconsole.changes import guard
from trunkconsole.changes.audit import append_audit
from trunkconsole.errors import MissingToolError, OperatorError
from trunkconsole.net.orphan import die_with_parent

PRIORITY = -350  # raw (-300) - 50: before conntrack (-200) and every filter chain
TABLE_PREFIX = "trunkconsole_trace_"
MAX_SECONDS = 600
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class TraceSpec:
    src: str
    proto: str | None = None  # udp | tcp | None (any)
    dport: int | None = None
    seconds: float = 60.0

    def rule(self) -> str:
        """`ip saddr 203.0.113.12 udp dport 5060 meta nftrace set 1`."""
        family = "ip6" if ipaddress.ip_address(self.src).version == 6 else "ip"
        parts = [f"{family} saddr {self.src}"]
        if self.proto and self.dport is not None:
            parts.append(f"{self.proto} dport {self.dport}")
        elif self.proto:
            parts.append(f"meta l4proto {self.proto}")
        return " ".join(parts) + " meta nftrace set 1"


def _nft(script: str) -> None:
    """`nft -f -`, killed with its parent: a tracer SIGKILLed while nft is still
    adding the table must not leave an nft behind that adds it after the guard looked."""
    try:
        proc = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True,
                              text=True, timeout=10, preexec_fn=die_with_parent())
    except FileNotFoundError as exc:
        raise MissingToolError("nft", "nftables") from exc
    if proc.returncode != 0:
        raise OperatorError("nft refused the trace table",
                            evidence=(proc.stderr or proc.stdout).strip()[-300:],
                            fix="tracing needs nftables and CAP_NET_ADMIN (root)")


def table_exists(name: str) -> bool:
    proc = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                          timeout=10, check=False)
    return f"table inet {name}" in proc.stdout.splitlines()


def remove_table(name: str) -> bool:
    """Delete our trace table if it is still there; True when it is gone."""
    if not name.startswith(TABLE_PREFIX):
        raise OperatorError(f"refusing to delete table {name!r}: not a trace table")
    if table_exists(name):
        subprocess.run(["nft", "delete", "table", "inet", name], capture_output=True,
                       text=True, timeout=10, check=False)
    return not table_exists(name)


@dataclass
class TraceTable:
    """One live trace table, its state file and guard."""

    spec: TraceSpec
    name: str
    state_file: Path
    state_root: Path
    guard_pid: int = 0

    def describe(self) -> str:
        return f"table inet {self.name}: {self.spec.rule()}"


def state_file_for(name: str) -> Path:
    from trunkconsole.changes.sip_logger import runtime_dir

    return runtime_dir() / f"{name}.json"


@contextlib.contextmanager
def trace_table(spec: TraceSpec, state_root: Path, *, readonly: bool = False,
                follow_pid: int | None = None) -> Iterator[TraceTable]:
    """Add the trace table for the block; removed after it, or by the guard."""
    if readonly:
        raise OperatorError("read-only mode: a trace adds a temporary nftables table",
                            fix="start without --readonly to trace")
    if not 1 <= spec.seconds <= MAX_SECONDS:
        raise OperatorError(f"--for must be 1-{MAX_SECONDS} seconds")
    session = uuid.uuid4().hex[:12]
    name = TABLE_PREFIX + session
    table = TraceTable(spec, name, state_file_for(name), state_root)
    until = time.time() + spec.seconds + 5  # the guard's margin over the reader's time box
    table.state_file.write_text(json.dumps({"session": session, "until": until,
                                            "table": name}))
    table.guard_pid = guard.spawn(["firewall", "trace-guard"], {
        "state_file": str(table.state_file), "session": session, "table": name,
        "follow_pid": follow_pid or os.getpid(), "state_root": str(state_root)})
    try:
        _nft(f"table inet {name} {{\n  chain pre {{\n    type filter hook prerouting "
             f"priority {PRIORITY}; policy accept;\n    {spec.rule()}\n  }}\n}}\n")
        append_audit(state_root, {"change": f"firewall trace: {table.describe()}",
                                  "result": f"added for {spec.seconds:.0f} s"})
        yield table
    finally:
        gone = remove_table(name)
        with contextlib.suppress(FileNotFoundError):
            table.state_file.unlink()  # the guard sees it and exits
        with contextlib.suppress(OperatorError):
            append_audit(state_root, {"change": f"firewall trace: table inet {name}",
                                      "result": "removed" if gone else "NOT REMOVED"})


def run_trace_guard(stdin_text: str) -> int:
    """The guard: when the time box ends or the tracer dies, remove its table."""
    config = json.loads(stdin_text)
    state_file = Path(config["state_file"])
    if not guard.wait_for_end(state_file, config["session"], int(config["follow_pid"])):
        return 0  # the tracer removed it itself
    remove_table(str(config["table"]))
    time.sleep(RECHECK_SECONDS)  # an `nft -f` of the dead tracer still committing
    gone = remove_table(str(config["table"]))
    with contextlib.suppress(FileNotFoundError):
        state_file.unlink()
    with contextlib.suppress(OperatorError):
        append_audit(Path(config["state_root"]), {
            "change": f"firewall trace: table inet {config['table']}",
            "result": "removed by the guard" if gone else "NOT REMOVED by the guard"})
    return 0 if gone else 1


class TraceNeedsNftables(OperatorError):
    """Only legacy iptables rules are in use: their TRACE target logs to the kernel log,
    which `nft monitor trace` never sees."""

    def __init__(self, static: str) -> None:
        super().__init__("tracing needs nftables: only legacy iptables rules are in use here "
                         "(their TRACE target logs to the kernel log instead)",
                         fix=f"the static verdict: {static}")
        self.static = static


@dataclass(frozen=True)
class TraceRun:
    """What one trace saw: its table (removed by now), each packet's fate in the kernel
    beside the static verdict (net/trace.py compare()), and the static verdict alone when
    no packet came."""

    table: str
    rule: str
    packets: list[dict[str, Any]]
    static: str = ""


def trace_packets(spec: TraceSpec, state_root: Path, *, readonly: bool, count: int = 1,
                  follow_pid: int | None = None, stop: threading.Event | None = None,
                  started: Callable[[TraceTable], None] | None = None) -> TraceRun:
    """Trace the next `count` packets from spec.src: the one path of `firewall trace` and
    the Network screen's T (blocking for up to spec.seconds: the console runs it in a
    thread). started(table) is called once the table is in place."""
    from trunkconsole.net.collect import read_ruleset
    from trunkconsole.net.trace import compare, read_monitor, static_verdict

    ruleset = read_ruleset()
    if ruleset.tables and all(t.source == "iptables-legacy" for t in ruleset.tables):
        raise TraceNeedsNftables(
            static_verdict(ruleset, spec.src, None, spec.proto, spec.dport).summary())
    with trace_table(spec, state_root, readonly=readonly, follow_pid=follow_pid) as table:
        if started is not None:
            started(table)
        packets = read_monitor(spec.seconds, count=count, ignore_table=table.name, stop=stop)
    results = [compare(packet, ruleset, spec.src, spec.proto, spec.dport, table.name)
               for packet in packets]
    static = "" if results else static_verdict(
        ruleset, spec.src, None, spec.proto, spec.dport).summary()
    return TraceRun(table.name, spec.rule(), results, static)
