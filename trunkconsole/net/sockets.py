"""Listening sockets from /proc/<pid>/net/{udp,udp6,tcp,tcp6}, owners from /proc/*/fd.

Reference §6: local_address is hex IP:PORT, IPv4 one little-endian u32, IPv6 four
little-endian u32 words; `st` 0A is TCP LISTEN and 07 an unconnected UDP socket. Reading
/proc/<asterisk pid>/net shows Asterisk's own namespace, which covers containers.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ListeningSocket:
    proto: str  # udp | tcp
    address: str
    port: int
    inode: int
    pid: int | None = None
    process: str = ""

    def covers(self, address: str) -> bool:
        """A wildcard socket takes every local address of its family (:: also takes IPv4
        unless IPV6_V6ONLY, which /proc does not show)."""
        if self.address in ("0.0.0.0", "::"):
            return self.address == "::" or ":" not in address
        return self.address == address


def decode_address(hex_text: str) -> str:
    """`0100007F` -> 127.0.0.1; 32 hex digits -> IPv6 (four little-endian words)."""
    raw = bytes.fromhex(hex_text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(struct.pack("<I", struct.unpack(">I", raw)[0])))
    words = struct.unpack(">4I", raw)
    return str(ipaddress.IPv6Address(b"".join(struct.pack("<I", w) for w in words)))


def parse_proc_net(text: str, proto: str) -> list[ListeningSocket]:
    """Listening (TCP) or unconnected (UDP) sockets from one /proc/net/* file."""
    wanted = "0A" if proto == "tcp" else "07"
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        address, port = fields[1].split(":")
        found.append(ListeningSocket(proto, decode_address(address), int(port, 16),
                                     int(fields[9])))
    return found


def _owners() -> dict[int, tuple[int, str]]:
    owners: dict[int, tuple[int, str]] = {}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
            comm = (pid_dir / "comm").read_text().strip()
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = (int(pid_dir.name), comm)
    return owners


def listening_sockets(pid: int | None = None) -> list[ListeningSocket]:
    """Sockets in this namespace, or in the namespace of process `pid` (e.g. Asterisk)."""
    base = Path(f"/proc/{pid}/net") if pid else Path("/proc/net")
    sockets: list[ListeningSocket] = []
    for name in ("udp", "udp6", "tcp", "tcp6"):
        try:
            text = (base / name).read_text()
        except OSError:
            continue
        sockets.extend(parse_proc_net(text, name.rstrip("6")))
    owners = _owners()
    return [ListeningSocket(s.proto, s.address, s.port, s.inode, *owners.get(s.inode, (None, "")))
            for s in sockets]


def asterisk_pid() -> int | None:
    """The pid of a process named asterisk, if one runs."""
    for pid_dir in Path("/proc").iterdir():
        if pid_dir.name.isdigit():
            try:
                if (pid_dir / "comm").read_text().strip() == "asterisk":
                    return int(pid_dir.name)
            except OSError:
                continue
    return None
