"""A minimal blocking AMI client for the lab: readiness, setup and ground truth in tests.

Independent of the console's own AMI client on purpose: the lab must not depend on the
code it is used to test. The socket is created inside the lab's PBX namespace.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Callable

from trunkconsole.errors import OperatorError
from trunkconsole.lab.netns import inside

Message = dict[str, list[str]]


def first(message: Message, key: str, default: str = "") -> str:
    """First value of a header (headers may repeat)."""
    values = message.get(key.lower())
    return values[0] if values else default


class AmiProbe:
    """Blocking AMI session: login, actions, and waiting for events."""

    def __init__(self, netns: str | None, username: str, secret: str,
                 host: str = "127.0.0.1", port: int = 5038, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._buffer = b""
        self._ids = itertools.count(1)
        self.events: list[Message] = []
        if netns is None:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        else:
            with inside(netns):
                self._sock = socket.create_connection((host, port), timeout=timeout)
        self.banner = self._read_line()
        reply = self.action({"Action": "Login", "Username": username, "Secret": secret,
                             "Events": "on"})
        if first(reply[0], "response") != "Success":
            self.close()
            raise OperatorError(f"AMI login as {username} failed",
                                evidence=first(reply[0], "message"))

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> AmiProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_line(self) -> str:
        while b"\r\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise OperatorError("AMI closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def read_message(self) -> Message:
        """Next whole message (event or response), headers lower-cased, values as lists.

        Waits for the blank line that ends a message before parsing, so a timeout never
        loses half a message.
        """
        while True:
            while b"\r\n\r\n" not in self._buffer:
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise OperatorError("AMI closed the connection")
                self._buffer += chunk
            block, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
            message: Message = {}
            for line in block.decode("utf-8", "replace").split("\r\n"):
                key, sep, value = line.partition(":")
                if sep:
                    message.setdefault(key.strip().lower(), []).append(value.strip())
            if message:
                return message

    def action(self, fields: dict[str, str], *, collect_list: bool = True) -> list[Message]:
        """Send an action; return its response and, for list actions, the items and Complete."""
        action_id = f"probe-{next(self._ids)}"
        lines = [f"{k}: {v}" for k, v in fields.items()] + [f"ActionID: {action_id}"]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        out: list[Message] = []
        deadline = time.monotonic() + self.timeout
        is_list = False
        while time.monotonic() < deadline:
            message = self.read_message()
            if first(message, "actionid") != action_id:
                if "event" in message:
                    self.events.append(message)
                continue
            out.append(message)
            if len(out) == 1:
                is_list = collect_list and first(message, "eventlist").lower() == "start"
                if not is_list:
                    return out
            elif first(message, "eventlist").lower() == "complete":
                return out
        raise OperatorError(f"AMI action {fields.get('Action')} got no complete answer")

    def command(self, cli: str) -> list[str]:
        """Run a CLI command through AMI; its output lines."""
        reply = self.action({"Action": "Command", "Command": cli})
        return reply[0].get("output", [])

    def wait_event(self, predicate: Callable[[Message], bool], timeout: float) -> Message:
        """Wait for an event matching predicate (also looks at events already buffered)."""
        for event in self.events:
            if predicate(event):
                self.events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                message = self.read_message()
            except TimeoutError:
                break
            finally:
                self._sock.settimeout(self.timeout)
            if "event" in message:
                if predicate(message):
                    return message
                self.events.append(message)
        raise TimeoutError("no matching AMI event")
