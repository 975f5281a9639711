"""A fake AMI server on 127.0.0.1, ONLY for faults a real Asterisk cannot produce on demand.

Used by tests that need byte-level control of the wire: a UTF-8 character split across
TCP reads, a half-written message, a stalled socket (DESIGN.md, "Real parts"). Everything
else is tested against the lab's real Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

GREETING = b"Asterisk Call Manager/11.0.0\r\n"


class FakeAmi:
    """Accepts one client, answers Login (and optionally Ping), then obeys the test."""

    def __init__(self, answer_ping: bool = True) -> None:
        self.answer_ping = answer_ping
        self.writer: asyncio.StreamWriter | None = None
        self.logged_in = asyncio.Event()
        self.actions: list[dict[str, str]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        writer.write(GREETING)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                fields = {}
                for line in block.decode().split("\r\n"):
                    key, _, value = line.partition(": ")
                    if key:
                        fields[key] = value
                self.actions.append(fields)
                action_id = fields.get("ActionID", "")
                if fields.get("Action") == "Login":
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n"
                                 "Message: Authentication accepted\r\n\r\n".encode())
                    self.logged_in.set()
                elif fields.get("Action") == "Ping" and self.answer_ping:
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n"
                                 "Ping: Pong\r\n\r\n".encode())
                elif fields.get("Action") not in ("Ping",):
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n"
                                 "Message: ok\r\n\r\n".encode())
                await writer.drain()

    async def send_in_pieces(self, *pieces: bytes, pause: float = 0.05) -> None:
        """Write each piece, flush it, pause: the client sees separate TCP reads."""
        assert self.writer is not None
        for piece in pieces:
            self.writer.write(piece)
            await self.writer.drain()
            await asyncio.sleep(pause)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeAmi]:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            if self.writer is not None:
                self.writer.close()
            self._server.close()
