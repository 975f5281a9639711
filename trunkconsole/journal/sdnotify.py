"""sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.

An address starting with '@' is in the abstract namespace (a leading NUL byte); with
Type=notify systemd waits for READY=1 before it calls the unit started.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send e.g. "READY=1\\nSTATUS=..."; False when not run by systemd (or it failed)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
