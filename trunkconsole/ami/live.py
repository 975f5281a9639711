"""LiveSession: one AMI connection feeding one PbxState, kept true across reconnects.

On every login: server info, then a full resync: the trunks first (registrations, the
identifies' endpoints, their PJSIPShowEndpoint details), then the list actions streamed
into the model item by item (an empty list may come back as `Response: Error`, e.g. "No
Contacts found"), then PJSIPShowEndpoint for the other trunk candidates (identifies and
static contact status are only there). `state.listing_complete(kind)` says what was
read in full; `syncs` counts complete resyncs. A poller re-reads
the trunks' contacts because ContactStatus fires only when the status *changes*, never for
a new RTT (pjsip_options.c; reference §1.7-1.8). A `Reload` of res_pjsip triggers a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from panoramisk.message import Message

from trunkconsole.ami.connection import AmiConnection, ConnectionLost, State, Status
from trunkconsole.ami.message import AmiMessage
from trunkconsole.ami.server_info import ServerInfo, fetch_server_info
from trunkconsole.conf.gcpause import freeze_long_lived
from trunkconsole.errors import OperatorError
from trunkconsole.model.state import IDENTIFIES, PbxState
from trunkconsole.settings import AmiTarget

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0
# Unsolicited events (RTCP of hundreds of calls) are read in batches at most this late
# while no action awaits its reply (ami/batching.py); the console redraws every 1/3 s.
EVENT_BATCH_SECONDS = 0.25
BOOT_GRACE_SECONDS = 10.0
DETAIL_TIMEOUT = 3.0
RESYNC_ATTEMPTS = 3
MAX_DETAILS = 500  # PJSIPShowEndpoint calls per resync
EARLY_TIMEOUT = 1.0  # per listing while Asterisk has not reported FullyBooted
LIST_TIMEOUT = 30.0  # 10,000 endpoints take about 1.3 s; a loaded PBX more
# (sync kind, action) in resync order. Trunks first: the outbound registrations (a few)
# name the trunks that register, `pjsip show identifies` the IP-matched ones, and their
# PJSIPShowEndpoint details follow before the 10,000-phone listings. Every listing
# streams into the model as it arrives; nothing waits for a whole list.
TRUNK_LISTINGS: tuple[tuple[str, str], ...] = (
    ("registrations", "PJSIPShowRegistrationsOutbound"),
)
LISTINGS: tuple[tuple[str, str], ...] = (
    ("endpoints", "PJSIPShowEndpoints"),
    ("contacts", "PJSIPShowContacts"),
    ("channels", "CoreShowChannels"),
)
# `Response: Error` texts that mean "the list is empty", not "you may not".
EMPTY_LIST_MESSAGES = ("no endpoints found", "no contacts found", "no aors found")


def identify_endpoints(lines: list[str]) -> list[str]:
    """The endpoint names in `pjsip show identifies` output.

    Each identify prints `Identify:  <id>/<endpoint>` (cli_print_body in
    res_pjsip_endpoint_identifier_ip.c), under a header line `Identify:  <Identify/
    Endpoint...>`. A name holding a '/' only costs a detail call that finds nothing.
    """
    names = []
    for line in lines:
        key, _, value = line.partition(":")
        value = value.strip()
        if key.strip() != "Identify" or value.startswith("<"):  # the column header
            continue
        _identify, slash, endpoint = value.partition("/")
        if slash and endpoint:
            names.append(endpoint)
    return names


class LiveSession:
    """Connection + state + resync + trunk poller; the TUI and `status` share it."""

    def __init__(
        self,
        target: AmiTarget,
        *,
        state: PbxState | None = None,
        on_status: Callable[[Status], None] = lambda _s: None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.target = target
        self.state = state if state is not None else PbxState()
        self.server_info: ServerInfo | None = None
        self.problems: list[str] = []  # permission gaps etc., in the operator's words
        self.syncs = 0  # completed resyncs
        self._reading = ""  # what the resync under way reads now ("" when none runs)
        self.synced_at = 0.0  # time.monotonic() of the last completed resync
        self._on_status = on_status
        self._poll_seconds = poll_seconds
        self._poller: asyncio.Task[None] | None = None
        self._pending_resync: asyncio.Task[None] | None = None
        self._saw_own_login = False
        self._saw_fully_booted = False
        self._session_synced = False
        self._resync_again = False
        self.connection = AmiConnection(
            target, on_status=self._status, on_login=self._login, on_message=self._message,
            batch_seconds=EVENT_BATCH_SECONDS)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self.connection.start()

    async def close(self) -> None:
        for task in (self._poller, self._pending_resync):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._poller = self._pending_resync = None
        await self.connection.close()

    @property
    def status(self) -> Status:
        return self.connection.status

    @property
    def loading(self) -> str:
        """What a resync under way reads, in the operator's words ("endpoints 4,200
        read"), or "" when none runs. A resync runs only once logged in."""
        reading = self._reading
        if not reading:
            return ""
        counts = {"endpoints": len(self.state.endpoints), "contacts": len(self.state.contacts),
                  "channels": len(self.state.channels)}
        count = counts.get(reading)
        return reading if count is None else f"{reading} {count:,} read"

    async def wait_synced(self, timeout: float) -> bool:
        """Wait for a first resync (or a final failure); True once synced."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.syncs:
                return True
            if self.status.state in (State.FAILED, State.CLOSED):
                return False
            await asyncio.sleep(0.02)
        return bool(self.syncs)

    # -- connection callbacks ------------------------------------------------------------
    def _status(self, status: Status) -> None:
        if status.state is not State.CONNECTED:
            if status.state is not State.CLOSED:  # keep it for a report after close()
                self.server_info = None
            # Login's own events arrive before on_login runs: reset before, not in it.
            self._saw_own_login = self._saw_fully_booted = self._session_synced = False
        self._on_status(status)

    def _message(self, message: AmiMessage) -> None:
        self.state.apply(message)
        event = message.fields.get("event")
        if event == "SuccessfulAuth":
            if (message.fields.get("service") == "AMI"
                    and message.fields.get("accountid") == self.target.username):
                self._saw_own_login = True
        elif event == "FullyBooted":
            self._saw_fully_booted = True
            if self._session_synced:
                # Connected while Asterisk was still starting: its modules are loaded now.
                self._schedule_resync()
        elif event == "Reload" and "pjsip" in message.fields.get("module", "").lower():
            self._schedule_resync()

    async def _login(self) -> None:
        self.server_info = await fetch_server_info(self.connection)
        booted_at_login = self._saw_fully_booted
        await self.resync()
        if not booted_at_login and self._saw_fully_booted:
            await self.resync()  # it finished booting while we were listing
        self._session_synced = True
        if self._saw_fully_booted:
            self._check_classes()
        else:
            # Logged in while Asterisk boots: FullyBooted (and a resync) comes later; only
            # if it never does is read=system missing.
            loop = asyncio.get_running_loop()
            loop.call_later(BOOT_GRACE_SECONDS, self._check_classes)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll(), name="ami-poll")

    def _check_classes(self) -> None:
        """Login raises SuccessfulAuth (class security) and FullyBooted (class system) at
        our own session: their absence means the user lacks that read class."""
        user = self.target.username
        problems = []
        if not self._saw_fully_booted:
            problems.append(f"AMI user '{user}' lacks read=system: contact status and "
                            "registrations will not update (add system to read= in "
                            "manager.conf, then `manager reload`)")
        if not self._saw_own_login:
            problems.append(f"AMI user '{user}' lacks read=security: unknown senders "
                            "cannot be shown (add security to read= in manager.conf, then "
                            "`manager reload`)")
        self.problems = problems

    # -- resync and polling --------------------------------------------------------------
    async def resync(self) -> None:
        """Trunks first (registrations, identifies, their details), then every listing,
        then the details of trunk candidates the listings revealed."""
        try:
            await self._resync()
        finally:
            self._reading = ""

    async def _resync(self) -> None:
        booted = self._saw_fully_booted
        for kind, action in TRUNK_LISTINGS:
            self._reading = kind
            await self._listing(kind, action, booted)
        self._reading = "trunks"
        early = await self._identified_endpoints() if booted else []
        early += sorted({r.endpoint for r in self.state.registrations.values() if r.endpoint})
        early = list(dict.fromkeys(early))[:MAX_DETAILS]
        await self.refresh_details(early, known_only=False)
        detailed = set(early)
        for kind, action in LISTINGS:
            self._reading = kind
            await self._listing(kind, action, booted)
        self._reading = "trunk details"
        candidates = [e.name for e in self.state.endpoints.values() if e.trunk_candidate]
        if len(candidates) > MAX_DETAILS:
            # A PBX of unauthenticated (IP-only) phones: do not ask for thousands of details.
            log.warning("%d endpoints without inbound auth: reading the first %d as trunks",
                        len(candidates), MAX_DETAILS)
            candidates = sorted(candidates)[:MAX_DETAILS]
        await self.refresh_details([n for n in candidates if n not in detailed])
        if booted:
            # Before FullyBooted the PJSIP modules may still be loading: not a true listing.
            self.state.mark_listed(IDENTIFIES)
            self.syncs += 1
            self.synced_at = time.monotonic()
            freeze_long_lived()  # the model lives as long as the session

    async def _listing(self, kind: str, action: str, booted: bool) -> None:
        """One list action, streamed into the model; its end drops what it did not list."""
        self.state.begin_sync(kind)
        try:
            reply = await self.connection.action(
                {"Action": action}, timeout=LIST_TIMEOUT if booted else EARLY_TIMEOUT,
                stream=True)
        except OperatorError as exc:
            if booted or isinstance(exc, ConnectionLost):
                raise
            # While Asterisk boots, a module's action may never answer: the resync
            # after FullyBooted will list it.
            log.info("%s during start-up: %s", action, exc.what)
            return
        if isinstance(reply, Message) and not reply.success:
            text = str(reply.get("Message") or "")
            if text.lower() not in EMPTY_LIST_MESSAGES:
                log.warning("%s refused: %s", action, text)
                return  # keep what we have rather than empty it
        self.state.end_sync(kind)

    async def _identified_endpoints(self) -> list[str]:
        """Endpoints that an identify names, from `pjsip show identifies` (AMI has no
        identify listing, reference §1); [] without write=command: the trunks then show
        as the endpoint listing reaches them."""
        try:
            lines = await self.connection.command("pjsip show identifies",
                                                  timeout=DETAIL_TIMEOUT)
        except ConnectionLost:
            raise
        except OperatorError as exc:
            log.info("pjsip show identifies: %s", exc.what)
            return []
        return identify_endpoints(lines)

    async def refresh_details(self, names: list[str], *, known_only: bool = True) -> None:
        """PJSIPShowEndpoint for each name: identifies, contact status and RTT. Names not
        (yet) in the model are asked for too when `known_only` is False."""
        for name in names:
            if known_only and name not in self.state.endpoints:
                continue
            try:
                await self.connection.action({"Action": "PJSIPShowEndpoint", "Endpoint": name},
                                             timeout=DETAIL_TIMEOUT, stream=True)
            except ConnectionLost:
                raise
            except OperatorError as exc:
                log.warning("PJSIPShowEndpoint %s: %s", name, exc.what)

    def _schedule_resync(self) -> None:
        if self._pending_resync is not None and not self._pending_resync.done():
            self._resync_again = True  # a reload during a resync: list once more after it
            return

        async def run() -> None:
            attempt = 0
            while attempt < RESYNC_ATTEMPTS:
                self._resync_again = False
                try:
                    await self.resync()
                except OperatorError as exc:
                    attempt += 1
                    log.warning("resync attempt %d: %s", attempt, exc.what)
                    await asyncio.sleep(0.2)
                    continue
                self._check_classes()
                if not self._resync_again:
                    return

        self._pending_resync = asyncio.get_running_loop().create_task(run(), name="ami-resync")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            if not self.connection.connected:
                continue
            try:
                await self.refresh_details([e.name for e in self.state.trunks()])
            except OperatorError as exc:
                log.info("trunk poll: %s", exc.what)
