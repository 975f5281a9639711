"""The pjsip logger for one provider, time-boxed, and its SIP messages shown live.

Asterisk offers no way to read the logger's state and prints SIP packets only to verbose
log channels, never to AMI (res_pjsip_logger.c; reference §4.2). So:
- trunkconsole remembers what it set (a state file) and always starts from
  `pjsip set logger off`, the only known state;
- the messages come from PJSIP's history buffer (`pjsip set history on`, read with
  `pjsip show history` over AMI): it works wherever AMI works (a chrooted or containerised
  Asterisk, another host), needs no access to Asterisk's log files, and is cleared when we
  are done because it grows without bound;
- `pjsip set logger host ...` is set too, so `asterisk -rvvv` users see the same trace.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trunkconsole.calls.sip_history import (
    ENTRY_HEADER,
    SipMessage,
    parse_entry,
    parse_history_list,
    parse_method,
)
from trunkconsole.changes.changeset import AmiActions
from trunkconsole.errors import OperatorError
from trunkconsole.private import private_dir, read_private, write_atomic

MAX_SECONDS = 3600
MAX_FETCH_PER_POLL = 50
MAX_BACKLOG = 20_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_host(value: str) -> Network:
    """An IP or CIDR the logger can filter on; anything else is refused."""
    if not value or any(ch in value for ch in "\r\n \t\x00;\"'"):
        raise OperatorError(f"logger host {value!r} is not an IP address or CIDR")
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise OperatorError(f"logger host {value!r} is not an IP address or CIDR",
                            fix="give an address like 203.0.113.10 or 198.51.100.0/24") from exc


@dataclass
class LoggerState:
    """What we switched on, so it can be re-asserted and switched off."""

    session: str
    hosts: list[str]
    methods: list[str]
    until: float  # time.time()
    baseline: int  # history entries up to this number predate us
    guard_pid: int = 0

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.until


def runtime_dir() -> Path:
    """Our private runtime directory: /run/trunkconsole (root), $XDG_RUNTIME_DIR/trunkconsole,
    else $TMPDIR/trunkconsole-UID (0700, owner-checked like tmux's /tmp/tmux-UID: a shared
    /tmp/trunkconsole would let another user plant a symlink there)."""
    uid = os.geteuid()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if uid == 0:
        base = Path("/run/trunkconsole")
    elif xdg and os.path.isabs(xdg):
        base = Path(xdg) / "trunkconsole"
    else:
        base = Path(tempfile.gettempdir()) / f"trunkconsole-{uid}"
    return private_dir(base, "runtime directory")


def _netns_id() -> str:
    """This thread's network namespace (inode): 127.0.0.1:5038 in two namespaces (two
    containers, two labs) is two PBXs."""
    try:
        return str(os.stat("/proc/thread-self/ns/net").st_ino)
    except OSError:
        return "0"


def state_file_for(ami_address: str) -> Path:
    """Where the logger state of one PBX lives, in our private runtime directory."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", ami_address)
    return runtime_dir() / f"sip-logger-{_netns_id()}-{name}.json"


@dataclass
class SipLogger:
    """Switch the logger on and off for a PBX and read its SIP messages."""

    ami: AmiActions
    state_file: Path
    last_seen: int = -1
    # Listed but not fetched yet (a burst larger than one poll's limit): oldest first.
    backlog: list[SipMessage] = field(default_factory=list)

    def state(self) -> LoggerState | None:
        try:
            return LoggerState(**json.loads(read_private(self.state_file)))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, state: LoggerState) -> None:
        """Write the state file atomically (the guard process reads it), never through a
        symlink."""
        write_atomic(self.state_file, json.dumps(asdict(state)).encode())

    async def on(self, hosts: list[str], methods: list[str], seconds: float) -> LoggerState:
        """Logger on for these hosts (and methods) for a while; history on for the screen."""
        networks = [parse_host(h) for h in hosts]
        if not networks:
            raise OperatorError("say which provider: at least one --host or --trunk")
        chosen = [parse_method(m) for m in methods]
        if not 0 < seconds <= MAX_SECONDS:
            raise OperatorError(f"the time box must be 1..{MAX_SECONDS} seconds")
        baseline = await self._last_number()
        state = LoggerState(session=uuid.uuid4().hex, hosts=[str(n) for n in networks],
                            methods=chosen, until=time.time() + seconds, baseline=baseline)
        await self._assert(state)
        self.save(state)
        self.last_seen = baseline
        self.backlog = []
        return state

    async def reassert(self) -> bool:
        """After a reload we triggered: put the logger back as we set it, if still due."""
        state = self.state()
        if state is None or state.expired():
            return False
        await self._assert(state)
        return True

    async def off(self) -> bool:
        """Logger and history off, history cleared; True if we had it on."""
        had = self.state() is not None
        await self._cli("pjsip set logger off")
        await self._cli("pjsip set history off")
        await self._cli("pjsip set history clear")
        self.state_file.unlink(missing_ok=True)
        return had

    async def poll(self, *, any_source: bool = False,
                   limit: int | None = MAX_FETCH_PER_POLL) -> list[SipMessage]:
        """New SIP messages to or from the logged hosts (or anyone) since the last poll.

        The history buffer records every message whatever the logger's host filter, so
        any_source shows an INVITE from an address nobody knew yet. limit: fetch at most N
        (one AMI Command each), oldest first, the rest on the next polls; None: all now.
        """
        state = self.state()
        if state is None:
            return []
        start = max(self.last_seen, state.baseline)
        lines = await self._cli(f"pjsip show history where number > {start}")
        summaries = parse_history_list(lines)
        if not summaries and len(lines) > 3:
            # Exactly one match: Asterisk prints the entry itself instead of a list.
            header = next((ENTRY_HEADER.match(line) for line in lines
                           if ENTRY_HEADER.match(line)), None)
            if header:
                summaries = [SipMessage(int(header[1]), int(header[4]),
                                        header[2] == "Received from", header[3], "")]
        networks = [ipaddress.ip_network(h) for h in state.hosts]
        wanted = []
        for message in summaries:
            self.last_seen = max(self.last_seen, message.number)
            try:
                address = ipaddress.ip_address(message.host)
            except ValueError:
                continue
            if any_source or any(address in net for net in networks):
                wanted.append(message)
        queue = (self.backlog + wanted)[-MAX_BACKLOG:]
        take = queue if limit is None else queue[:limit]
        self.backlog = [] if limit is None else queue[limit:]
        out = []
        for message in take:
            text = parse_entry(await self._cli(f"pjsip show history entry {message.number}"))
            first = text.splitlines()[0] if text else message.first_line
            full = SipMessage(message.number, message.timestamp, message.received,
                              message.address, first, text)
            if state.methods and full.method not in state.methods:
                continue
            out.append(full)
        return out

    async def _assert(self, state: LoggerState) -> None:
        await self._cli("pjsip set logger off")  # the only state we can know
        first, *rest = state.hosts
        await self._cli(f"pjsip set logger host {first}")
        for host in rest:
            await self._cli(f"pjsip set logger add {host}")
        if state.methods:
            await self._cli(f"pjsip set logger method {state.methods[0]}")
            for method in state.methods[1:]:
                await self._cli(f"pjsip set logger methodadd {method}")
        await self._cli("pjsip set history on")

    async def _last_number(self) -> int:
        numbers = [m.number for m in parse_history_list(await self._cli("pjsip show history"))]
        return max(numbers, default=-1)

    async def _cli(self, command: str) -> list[str]:
        return await self.ami.command(command)


def reasserter(ami_address: str) -> Callable[[AmiActions], Awaitable[bool]]:
    """An Applier after_reload hook: put back the logger we switched on for this PBX."""
    async def reassert(ami: AmiActions) -> bool:
        return await SipLogger(ami, state_file_for(ami_address)).reassert()
    return reassert
