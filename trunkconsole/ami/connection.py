"""The AMI session's lifecycle on top of panoramisk 1.4, without its defects.

panoramisk reconnects forever on a wrong secret, keeps retrying after close(), and lets a
raising event handler drop the connection (reference: asterisk-ami-pjsip.md §7.3-7.4).
Here panoramisk only frames messages; this class owns connect, login, backoff, liveness
and close, and reports every state change to the front end.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from trunkconsole.ami.action import Value, build_action, check_value
from trunkconsole.ami.message import AmiMessage
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget

log = logging.getLogger(__name__)

# Capped at 2 s: AMI is on the same host, and after an Asterisk restart the console must be
# back within a few seconds of FullyBooted (issue 3); a refused local connect is cheap.
BACKOFF_SECONDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
CONNECT_TIMEOUT = 5.0
ACTION_TIMEOUT = 10.0
PING_INTERVAL = 10.0
AUTH_RETRIES = 4


class State(enum.Enum):
    """Connection state as the operator sees it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # final: retrying cannot help (wrong secret)
    CLOSED = "closed"


@dataclass(frozen=True)
class Status:
    """A state, why, and since when."""

    state: State
    reason: str = ""
    attempt: int = 0
    retry_in: float = 0.0
    since: float = 0.0


class ConnectionLost(OperatorError):
    """The connection ended while an action waited for its answer."""


class AuthenticationFailed(OperatorError):
    """Asterisk refused the login: retrying with the same secret cannot help."""


class _Manager(Manager):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Manager with its own reconnect logic switched off."""

    pinger: Any

    def __init__(self, owner: AmiConnection, **config: Any) -> None:
        super().__init__(**config)
        self._owner = owner

    def connection_lost(self, exc: BaseException | None) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self._owner._lost(exc)  # no reconnect scheduling here: the owner decides

    def login(self, future: asyncio.Future[Any]) -> bool:
        ok = bool(super().login(future))
        self._owner._logged_in(future)
        return ok

    def ping(self) -> None:
        """Liveness is the owner's watchdog; panoramisk's unchecked pings are off."""

    def dispatch(self, event: Message) -> list[str]:
        """Deliver an event; one faulty handler never drops the connection."""
        try:
            return list(super().dispatch(event))
        except Exception:
            log.exception("AMI event handler failed on %s", event.get("Event"))
            return []


class AmiConnection:
    """One AMI session that keeps itself connected until closed."""

    def __init__(
        self,
        target: AmiTarget,
        *,
        on_status: Callable[[Status], None] = lambda _s: None,
        on_event: Callable[[Message], None] | None = None,
        on_login: Callable[[], Awaitable[None]] | None = None,
        on_message: Callable[[AmiMessage], None] | None = None,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        protocol_factory: type[AMIProtocol] = TrunkAmiProtocol,
        events: str = "on",
        batch_seconds: float = 0.0,
    ) -> None:
        self.target = target
        self._batch_seconds = batch_seconds
        self._on_status = on_status
        self._on_event = on_event or (lambda _e: None)
        self._wants_events = on_event is not None
        self._on_login = on_login
        self._on_message = on_message
        self._backoff = tuple(backoff)
        self._protocol_factory = protocol_factory
        self._events = events
        self._manager: _Manager | None = None
        self._protocol: TrunkAmiProtocol | None = None
        self._stream_ids = 0
        self._lost_future: asyncio.Future[BaseException | None] | None = None
        self._login_future: asyncio.Future[Message] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._accepted_before = False
        self.status = Status(State.CONNECTING, since=time.time())

    # -- public -----------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Run the connect/reconnect loop in the background on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="ami")
        return self._task

    async def run(self) -> None:
        """Connect, stay connected, reconnect with backoff; return when closed or failed."""
        attempt = 0
        auth_retries = 0
        reason = ""
        while not self._closing:
            self._set(State.CONNECTING if attempt == 0 else State.RECONNECTING,
                      reason, attempt)
            try:
                await self._session()
                reason = "connection lost"
                attempt = 0
                auth_retries = 0
            except AuthenticationFailed as exc:
                # Final, unless these credentials worked on this connection before: an
                # Asterisk that is shutting down or starting answers "Authentication
                # failed" for a moment (seen in the lab's restart test).
                if not self._accepted_before or auth_retries >= AUTH_RETRIES:
                    self._set(State.FAILED, exc.what)
                    return
                auth_retries += 1
                reason = f"{exc.what} (Asterisk restarting? retry {auth_retries}/{AUTH_RETRIES})"
            except (OSError, TimeoutError, OperatorError) as exc:
                reason = self._explain(exc)
            if self._closing:
                break
            delay = self._backoff[min(attempt, len(self._backoff) - 1)]
            attempt += 1
            self._set(State.RECONNECTING, reason, attempt, retry_in=delay)
            await asyncio.sleep(delay)
        self._set(State.CLOSED, "closed")

    async def close(self) -> None:
        """Stop for good: no retry is left scheduled after this returns."""
        self._closing = True
        self._drop()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._set(State.CLOSED, "closed")

    @property
    def connected(self) -> bool:
        return self.status.state is State.CONNECTED

    async def action(self, fields: dict[str, Value], *, as_list: bool | None = None,
                     timeout: float = ACTION_TIMEOUT,
                     stream: bool = False) -> Message | list[Message]:
        """Send a checked action and wait (bounded) for its answer.

        `stream=True` for a listing the on_message consumer takes item by item as it
        arrives: the answer is then the response and the Complete event only.
        """
        checked = build_action(fields)
        manager = self._manager
        if manager is None or not manager.authenticated:
            raise OperatorError(f"AMI at {self.target.address} is not connected "
                                f"({self.status.state.value})")
        lost = self._lost_future
        if lost is not None and lost.done():
            raise ConnectionLost(f"AMI at {self.target.address}: connection lost")
        streamed = self._protocol.streamed if stream and self._protocol is not None else None
        if streamed is not None:
            self._stream_ids += 1
            action_id = checked["ActionID"] = f"trunkconsole-stream-{self._stream_ids}"
            streamed.add(action_id)
        try:
            return await self._answer(manager, checked, as_list, lost, timeout)
        finally:
            if streamed is not None:
                streamed.discard(action_id)

    async def _answer(self, manager: _Manager, checked: dict[str, str | list[str]],
                      as_list: bool | None, lost: asyncio.Future[BaseException | None] | None,
                      timeout: float) -> Message | list[Message]:
        future = manager.send_action(checked, as_list=as_list)
        # Wait for the answer or the end of the connection, whichever comes first: an action
        # sent to an Asterisk that is going away would otherwise wait out its timeout.
        waiting: set[asyncio.Future[Any]] = {future} if lost is None else {future, lost}
        done, _ = await asyncio.wait(waiting, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            result: Message | list[Message] = future.result()
        elif lost is not None and lost in done:
            future.cancel()
            raise ConnectionLost(f"AMI at {self.target.address}: connection lost while "
                                 f"waiting for {checked['Action']}")
        else:
            future.cancel()
            raise OperatorError(f"AMI action {checked['Action']} got no answer within "
                                f"{timeout:.0f} s")
        return result

    async def command(self, cli: str, timeout: float = ACTION_TIMEOUT) -> list[str]:
        """Run a CLI command through AMI (write class `command`); its output lines."""
        reply = await self.action({"Action": "Command", "Command": cli}, timeout=timeout)
        assert not isinstance(reply, list)
        output = reply.get("Output")
        if output is None:
            return []
        return list(output) if isinstance(output, list) else [str(output)]

    # -- one session ------------------------------------------------------------------
    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost_future = loop.create_future()
        self._login_future = loop.create_future()
        manager = _Manager(
            self, host=self.target.host, port=self.target.port,
            username=check_value("Username", self.target.username),
            secret=check_value("Secret", self.target.secret.reveal(), secret=True),
            events=self._events, loop=loop, ping_delay=3600,
            forgetable_actions=("login", "ping"),
            on_connect=lambda _m: None, on_login=lambda _m: None,
            on_disconnect=lambda _m, _e: None,
        )
        manager.register_event("*", self._deliver)
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(self._protocol_factory, self.target.host, self.target.port),
            CONNECT_TIMEOUT,
        )
        if isinstance(protocol, TrunkAmiProtocol) and self._on_message is not None:
            # Every message in wire order, list items included: a list reply reaches its
            # awaiting coroutine only after later events were dispatched.
            protocol.listener = self._on_message
            protocol.dispatch_events = self._wants_events
            protocol.batch_events(self._batch_seconds)
            self._protocol = protocol
        connected: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        connected.set_result((transport, protocol))
        self._manager = manager
        try:
            manager.connection_made(connected)
            if getattr(protocol, "lost_early", False):  # closed before the Manager took it
                manager.connection_lost(None)
            reply = await asyncio.wait_for(asyncio.shield(self._login_future), ACTION_TIMEOUT)
            if not reply.success:
                raise AuthenticationFailed(
                    f"authentication failed for user {self.target.username} "
                    f"at {self.target.address}",
                    evidence=str(reply.get("Message") or "Authentication failed"),
                    fix=f"check the secret ({self.target.secret_source}) against "
                    f"[{self.target.username}] in manager.conf",
                )
            self._accepted_before = True
            if self._on_login is not None:
                await self._on_login()
            self._set(State.CONNECTED)
            await self._watch(manager)
        finally:
            self._drop()

    async def _watch(self, manager: _Manager) -> None:
        """Wait until the connection is lost; a Ping without answer counts as lost."""
        assert self._lost_future is not None
        while not self._lost_future.done():
            done, _ = await asyncio.wait({self._lost_future}, timeout=PING_INTERVAL)
            if done:
                break
            try:
                await asyncio.wait_for(manager.send_action({"Action": "Ping"}), CONNECT_TIMEOUT)
            except TimeoutError:
                log.warning("AMI did not answer Ping: treating the connection as lost")
                return

    def _drop(self) -> None:
        self._protocol = None
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.close()

    # -- callbacks from _Manager -------------------------------------------------------
    def _lost(self, exc: BaseException | None) -> None:
        if self._lost_future is not None and not self._lost_future.done():
            self._lost_future.set_result(exc if isinstance(exc, BaseException) else None)
        if self._login_future is not None and not self._login_future.done():
            self._login_future.set_exception(
                OperatorError(f"AMI at {self.target.address} closed the connection during login"))

    def _logged_in(self, future: asyncio.Future[Message]) -> None:
        if self._login_future is None or self._login_future.done():
            return
        if future.exception() is not None:
            self._login_future.set_exception(future.exception())  # type: ignore[arg-type]
        else:
            self._login_future.set_result(future.result())

    def _deliver(self, _manager: Any, event: Message) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("event consumer failed on %s", event.get("Event"))

    # -- status ---------------------------------------------------------------------
    def _set(self, state: State, reason: str = "", attempt: int = 0,
             retry_in: float = 0.0) -> None:
        if self.status.state is State.CLOSED and state is not State.CLOSED:
            return
        if self.status.state is State.FAILED and state is State.CLOSED:
            return  # keep the reason it failed on screen
        self.status = Status(state, reason, attempt, retry_in, time.time())
        self._on_status(self.status)

    def _explain(self, exc: BaseException) -> str:
        address = self.target.address
        if isinstance(exc, ConnectionRefusedError):
            return (f"nothing listens on {address}: is AMI enabled "
                    f"(manager.conf [general] enabled=yes, port, bindaddr)?")
        if isinstance(exc, TimeoutError):
            return f"{address} did not answer within {CONNECT_TIMEOUT:.0f} s"
        if isinstance(exc, OperatorError):
            return exc.what
        return f"cannot reach {address}: {getattr(exc, 'strerror', None) or exc}"
