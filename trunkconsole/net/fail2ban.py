"""What fail2ban bans now, from `fail2ban-client` when a server runs in this namespace.

The server is found by its process (`fail2ban-server` in /proc/PID/cmdline) in the same
network namespace as us, with the configuration directory it was started with (`-c DIR`,
default /etc/fail2ban): the client must be pointed at the same directory to find the
server's socket. Output formats (fail2ban 0.11-1.1, client/beautifier.py):
- `status` : `|- Number of jail:\t1` / `` `- Jail list:\tasterisk, sshd ``
- `get JAIL banip --with-time`: `203.0.113.12 \t2026-11-26 12:24:53 + 600 = 2026-11-26
  12:34:53`, one line per ban (local time; bantime -1 = permanent)
- `get JAIL ignoreip`: `These IP addresses/networks are ignored:` then `|- 127.0.0.0/8`
  lines, or `No IP address/network is ignored`.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/fail2ban")
TIMEOUT = 10.0
JAIL_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_BANIP = re.compile(r"^(?P<ip>\S+)\s+(?P<start>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*\+\s*"
                    r"(?P<secs>-?\d+)\s*=\s*(?P<end>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?")

Runner = Callable[[list[str]], tuple[int, str, str]]


@dataclass(frozen=True)
class Server:
    """A running fail2ban-server: its pid and the configuration directory it reads."""

    pid: int
    config_dir: Path
    socket: str = ""

    def client(self) -> list[str]:
        """The fail2ban-client command line that reaches this server."""
        cmd = ["fail2ban-client", "-c", str(self.config_dir)]
        return cmd + (["-s", self.socket] if self.socket else [])


@dataclass(frozen=True)
class JailBan:
    jail: str
    address: str
    started: float | None = None
    ends: float | None = None  # None: until unbanned (bantime -1)

    def left(self, now: float) -> float | None:
        return None if self.ends is None else max(0.0, self.ends - now)


@dataclass
class Fail2banView:
    """Jails and their bans as the running server reports them (empty when none runs)."""

    server: Server | None = None
    jails: list[str] = field(default_factory=list)
    bans: list[JailBan] = field(default_factory=list)
    error: str = ""  # why the client could not be asked

    def of(self, address: str) -> list[JailBan]:
        return [b for b in self.bans if b.address == address]


def _own_netns() -> int | None:
    for path in ("/proc/thread-self/ns/net", "/proc/self/ns/net"):
        try:
            return os.stat(path).st_ino
        except OSError:
            continue
    return None


def parse_server_cmdline(args: list[str]) -> tuple[Path, str] | None:
    """(config dir, socket) of a fail2ban-server command line; None if it is not one."""
    if not any(Path(a).name == "fail2ban-server" for a in args[:2]):
        return None
    config, socket = DEFAULT_CONFIG, ""
    for index, arg in enumerate(args):
        value = args[index + 1] if index + 1 < len(args) else ""
        if arg in ("-c", "--conf") and value:
            config = Path(value)
        elif arg.startswith("--conf="):
            config = Path(arg.split("=", 1)[1])
        elif arg in ("-s", "--socket") and value:
            socket = value
        elif arg.startswith("--socket="):
            socket = arg.split("=", 1)[1]
    return config, socket


def find_servers(proc: Path = Path("/proc")) -> list[Server]:
    """fail2ban-server processes in our network namespace (needs root to see others')."""
    own = _own_netns()
    servers = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        parsed = parse_server_cmdline([a for a in args if a])
        if parsed is None:
            continue
        try:
            if own is not None and os.stat(entry / "ns" / "net").st_ino != own:
                continue  # another namespace's fail2ban (another lab, a container)
        except OSError:
            continue
        servers.append(Server(int(entry.name), *parsed))
    return sorted(servers, key=lambda s: s.pid)


def run_client(cmd: list[str]) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except FileNotFoundError:
        return 127, "", f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {TIMEOUT:.0f} s"
    return proc.returncode, proc.stdout, proc.stderr


def parse_jail_list(text: str) -> list[str]:
    for line in text.splitlines():
        if "Jail list:" in line:
            names = line.split("Jail list:", 1)[1].replace(",", " ").split()
            return [n for n in names if JAIL_NAME.match(n)]
    return []


def _clock(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return None


def parse_banip_with_time(jail: str, text: str) -> list[JailBan]:
    bans = []
    for line in text.splitlines():
        found = _BANIP.match(line.strip())
        if found is None:
            continue
        permanent = int(found.group("secs")) < 0
        bans.append(JailBan(jail, found.group("ip"), _clock(found.group("start")),
                            None if permanent else _clock(found.group("end"))))
    return bans


def parse_ignoreip(text: str) -> list[str]:
    """The jail's ignore list from `get JAIL ignoreip`."""
    return [line.split("- ", 1)[1].strip() for line in text.splitlines()
            if line.startswith(("|- ", "`- "))]


def read_view(run: Runner = run_client, servers: list[Server] | None = None) -> Fail2banView:
    """Ask the running server (if any) for its jails and bans."""
    servers = find_servers() if servers is None else servers
    view = Fail2banView()
    if not servers:
        return view
    view.server = servers[0]
    client = view.server.client()
    rc, out, err = run([*client, "status"])
    if rc != 0:
        view.error = (err or out).strip().splitlines()[-1:][0] if (err or out).strip() \
            else f"fail2ban-client exited {rc}"
        return view
    view.jails = parse_jail_list(out)
    for jail in view.jails:
        rc, out, _err = run([*client, "get", jail, "banip", "--with-time"])
        if rc == 0:
            view.bans += parse_banip_with_time(jail, out)
    return view
