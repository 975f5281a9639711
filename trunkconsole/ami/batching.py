"""Read unsolicited AMI events in batches while no action awaits its reply.

500 standing calls make 100-200 RTCPSent/RTCPReceived events a second (one per call each
way every rtcpinterval, 5 s by default), each in its own TCP segment. Read one at a time,
each costs a wakeup of the event loop (epoll, recv, the protocol, the model): about
190 us of CPU per event on the lab machine, where parsing and applying one takes 20 us.
That alone kept the idle console near 3% of a core (issue 12: at most 2% in all).

So while nothing awaits a reply, the socket's receive low-water mark (SO_RCVLOWAT) is
raised: the kernel wakes the reader only once BATCH_BYTES have arrived, and a timer lets
through whatever is there every `seconds` (the console redraws every 1/3 s, so the screen
is no older than it was). Sending an action lowers the mark at once, so a reply, and the
events Asterisk sent before it, are read as soon as they come. The mark is far below the
receive buffer, so Asterisk's writes never block on us (its AMI `writetimeout`, 100 ms by
default, drops a session whose socket stays full).

Linux facts relied on (tests/unit/test_ami_batching.py checks them on the running
kernel): epoll reports a TCP socket readable only once
SO_RCVLOWAT bytes are queued; a non-blocking recv() returns what is queued even below the
mark; lowering the mark signals readiness at once (tcp_set_rcvlowat calls
tcp_data_ready). Where a kernel does not signal, the flush re-registers the reader when
bytes wait (FIONREAD), which makes epoll look again. Anything that is not a TCP socket
(a test's pipe, a socket that refuses the option) is read as before.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import socket
import termios
from typing import Any

log = logging.getLogger(__name__)

# Wake for at most this much: ~40 RTCP events; far below the default receive buffer
# (net.ipv4.tcp_rmem's 128 KiB), so the sender never waits for us.
BATCH_BYTES = 32 * 1024


class ReadBatcher:
    """Raises and lowers SO_RCVLOWAT on one AMI transport; a flush timer bounds the delay."""

    def __init__(self, transport: asyncio.Transport, seconds: float,
                 batch_bytes: int = BATCH_BYTES) -> None:
        self._transport = transport
        self._seconds = seconds
        self._bytes = batch_bytes
        self._holding = False
        self._timer: asyncio.TimerHandle | None = None
        sock = transport.get_extra_info("socket")
        self._sock: Any = sock if seconds > 0 and _is_tcp(sock) else None

    @property
    def holding(self) -> bool:
        """True while the kernel gathers events for us (the mark is raised)."""
        return self._holding

    def hold(self) -> None:
        """Nothing awaits a reply: let events gather until BATCH_BYTES or the flush."""
        if self._holding or self._sock is None:
            return
        if not self._set(self._bytes):
            return
        self._holding = True
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._seconds, self._flush)

    def release(self) -> None:
        """Read whatever is queued now (an action is about to be sent, or the flush)."""
        if not self._holding:
            return
        self._holding = False
        self._set(1)
        if self._queued() and not self._transport.is_closing():
            # Make epoll look again, for kernels where lowering the mark does not signal.
            self._transport.pause_reading()
            self._transport.resume_reading()

    def close(self) -> None:
        """No more batching (the connection is gone, or another batcher takes over): the
        timer stops and the mark is lowered, so nothing waits for a flush that won't come."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.release()
        self._sock = None

    def _flush(self) -> None:
        self._timer = None
        self.release()

    def _set(self, mark: int) -> bool:
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, mark)
        except (OSError, AttributeError, ValueError) as exc:
            log.debug("SO_RCVLOWAT not settable (%s): AMI events read one by one",
                      type(exc).__name__)
            self._sock = None
            return False
        return True

    def _queued(self) -> int:
        """Bytes waiting in the receive queue (FIONREAD); 0 when it cannot be read."""
        if self._sock is None:
            return 0
        count = array.array("i", [0])
        try:
            fcntl.ioctl(self._sock.fileno(), termios.FIONREAD, count, True)
        except (OSError, ValueError):
            return 0
        return count[0]


def _is_tcp(sock: Any) -> bool:
    try:
        return bool(sock is not None and sock.type == socket.SOCK_STREAM
                    and sock.family in (socket.AF_INET, socket.AF_INET6))
    except (OSError, AttributeError):
        return False
