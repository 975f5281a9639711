"""panoramisk's AMIProtocol with trunkconsole's framing and parser.

panoramisk 1.4 decodes each TCP read with errors='ignore' before joining them, so a UTF-8
character split across reads is dropped; it strips each message, losing an empty last
header; it gives a str or a list for the same header depending on how often it occurs;
and an exception in an event handler escapes data_received and drops the connection
(reference asterisk-ami-pjsip.md §7.4). Here bytes are buffered and each whole message is
decoded once, parsed by `parse_block` (repeatable headers always lists, secrets dropped),
and handed first to a stream listener in wire order, then to panoramisk's action/event
machinery inside a guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from trunkconsole.ami.batching import ReadBatcher
from trunkconsole.ami.message import RTCP_PREFIX, AmiMessage, parse_block, parse_rtcp
from trunkconsole.errors import OperatorError

log = logging.getLogger(__name__)


class _NoActionText(logging.Filter):
    """panoramisk logs whole actions ('Fail to send %r', 'Adding action ... to awaiting
    list'): a Login among them carries the secret. Such records lose their text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if "secret" in text.lower() or "action" in text.lower():
            record.msg = "panoramisk: an AMI action was not sent (its text is withheld: " \
                "it may hold the AMI secret)"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


for _name in ("panoramisk", "panoramisk.ami_protocol", "panoramisk.manager",
              "panoramisk.actions", "panoramisk.command"):
    logging.getLogger(_name).addFilter(_NoActionText())

GREETING = b"Asterisk Call Manager/"
TERMINATOR = b"\r\n\r\n"
# One AMI message larger than this is not something Asterisk sends (a huge CLI output is
# a few MB): treat it as a broken peer rather than growing without bound.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

Listener = Callable[[AmiMessage], None]


class WireMessage(Message):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Message built straight from an AmiMessage (no per-key update calls)."""

    ami: AmiMessage

    @classmethod
    def from_ami(cls, ami: AmiMessage) -> WireMessage:
        message: WireMessage = cls.__new__(cls)
        store: dict[str, tuple[str, Any]] = {}
        for key, value in ami.fields.items():
            listed = ami.lists.get(key)
            store[key] = (key, list(listed) if listed is not None else value)
        message._store = store
        message.manager = None
        message.ami = ami
        return message


class TrunkAmiProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    """Byte-buffered framing, one decode per whole message, guarded dispatch."""

    listener: Listener | None = None
    # Action ids of streamed listings: their items reach only the listener (the model),
    # never panoramisk's per-action list (10,000 EndpointList kept twice, for nothing).
    streamed: set[str]
    # False when nobody subscribed to panoramisk's events (the model takes them from the
    # listener): an unsolicited event then skips panoramisk's Message and dispatch (RTCP
    # of 500 calls is hundreds of events a second).
    dispatch_events = True
    encoding = "utf-8"  # panoramisk's default is ASCII: any non-ASCII value failed to send
    # Set by the owner of a streaming session (ami/batching.py): events are read in
    # batches, at most this many seconds late, while no action awaits its reply.
    batcher: ReadBatcher | None = None

    def batch_events(self, seconds: float) -> None:
        """Read unsolicited events in batches, at most `seconds` late (0: one by one)."""
        if self.batcher is not None:
            self.batcher.close()
        self.batcher = ReadBatcher(self.transport, seconds) if seconds > 0 else None

    def send(self, data: Any, as_list: bool | None = False) -> Any:
        """panoramisk's send, minus its log of the whole action on failure; bytes that were
        not UTF-8 (a secret read from manager.conf) go out as they were read."""
        if not isinstance(data, actions.Action):
            klass = actions.Command if "Command" in data else actions.Action
            data = klass(data, as_list=as_list)
        data.as_list = as_list
        if self.batcher is not None:
            self.batcher.release()  # the reply (and what came before it) is read at once
        self.responses[data.id] = data
        if data.action_id:
            self.responses[data.action_id] = data
        try:
            self.transport.write(str(data).encode("utf-8", "surrogateescape"))
        except Exception as exc:
            name = str(data.get("Action", "?")) if hasattr(data, "get") else "?"
            log.error("could not send AMI action %s (%s)", name, type(exc).__name__)
            if not data.future.done():
                data.future.set_exception(
                    OperatorError(f"could not send the AMI action {name}"))
        return data.future

    # The peer closed before panoramisk's Manager took the connection: the Manager's
    # connection_made runs as a callback after create_connection returns, and an EOF read
    # in between reached panoramisk's connection_lost with factory None (AttributeError,
    # printed with a traceback by asyncio). The owner checks this once it hands over.
    lost_early = False

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.batcher is not None:
            self.batcher.close()
        if getattr(self, "factory", None) is None:
            self.lost_early = True
            self.closed = True
            return
        super().connection_lost(exc)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._buffer = bytearray()
        self._scan_from = 0
        self._greeted = False
        self.streamed = set()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._greeted:
            if len(buffer) < len(GREETING) and GREETING.startswith(bytes(buffer)):
                return
            if buffer.startswith(GREETING):
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                self.version = buffer[len(GREETING):end].decode("ascii", "replace").strip()
                del buffer[: end + 2]
            self._greeted = True
        start = 0
        while True:
            end = buffer.find(TERMINATOR, max(start, self._scan_from))
            if end < 0:
                break
            block = bytes(buffer[start:end])
            start = end + len(TERMINATOR)
            self._scan_from = start
            self._deliver(block)
            if self.closed:
                break
        if start:
            del buffer[:start]
        # Resume the search where it stopped (minus a partial terminator), not at 0.
        self._scan_from = max(0, len(buffer) - len(TERMINATOR) + 1)
        if len(buffer) > MAX_MESSAGE_BYTES:
            log.error("AMI message over %d bytes: dropping the connection", MAX_MESSAGE_BYTES)
            self.transport.close()
        elif self.batcher is not None and not self.closed and not self._awaiting():
            self.batcher.hold()

    def _awaiting(self) -> bool:
        """An action still waits for (part of) its reply."""
        return any(not action.future.done() for action in self.responses.values())

    def _item_of_stream(self, message: AmiMessage) -> bool:
        """A list item of a streamed action (its Complete event still ends the action)."""
        fields = message.fields
        event = fields.get("event")
        if not event or fields.get("actionid") not in self.streamed:
            return False
        return not (event.endswith("Complete") or fields.get("eventlist") == "Complete")

    def _unsolicited(self, message: AmiMessage) -> bool:
        """An event no action waits for (panoramisk still sees Shutdown: it closes)."""
        fields = message.fields
        event = fields.get("event")
        if not event or event == "Shutdown":
            return False
        responses = self.responses
        return fields.get("actionid") not in responses and fields.get("commandid") \
            not in responses

    def _deliver(self, block: bytes) -> None:
        parsed = None
        if not self.dispatch_events and block.startswith(RTCP_PREFIX):
            # Only the listener (the model) sees it: the headers it reads are enough.
            parsed = parse_rtcp(block)
            if parsed is not None and "uniqueid" not in parsed.fields:
                parsed = None  # not spelled as Asterisk 20/22 do: read it in full
        if parsed is None:
            parsed = parse_block(block.decode("utf-8", "replace"))
        if parsed is None:
            return
        listener = self.listener
        if listener is not None:
            try:
                listener(parsed)
            except Exception:
                log.exception("AMI stream listener failed on %s", parsed.event or "a response")
            if self.streamed and self._item_of_stream(parsed):
                return
            if not self.dispatch_events and self._unsolicited(parsed):
                return
        try:
            self.handle_message(WireMessage.from_ami(parsed))
        except Exception:
            # An event handler raised: keep the connection (panoramisk would drop it).
            log.exception("AMI handler failed on %s", parsed.event or "a response")
