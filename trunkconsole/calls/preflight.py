"""Outbound pre-flight: one call out through a trunk, stopped before anyone answers.

AMI Originate (write class `originate`) with a ChannelId we choose, so the channel is
ours to find; PJSIP's history (changes/sip_logger.py) shows what Asterisk really sent
(From, P-Asserted-Identity, Remote-Party-ID) and every answer of the provider. On the
first provisional response (180/183) the channel is hung up: pjsip then sends CANCEL
and the provider answers 487, so the call is never answered and never billed
(reference calls-history-fleet.md §4; CDR billsec runs from answer). A provider that
answers 200 at once (no provisional response) is hung up immediately with a BYE; that
call was answered, and the result says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole.ami.action import AmiActions
from trunkconsole.calls.caller_id import default_caller_id
from trunkconsole.calls.ladder import CallFlow, group_calls
from trunkconsole.calls.sip import printable, uri_of, uri_user
from trunkconsole.changes.logger_on import switch_logger_on
from trunkconsole.changes.sip_logger import SipLogger
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget

POLL = 0.2
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_TRUNK = re.compile(r"^[A-Za-z0-9_.+-]{1,80}$")
# What the usual rejections mean for an outbound call, to put beside the code.
MEANING = {
    401: "the provider wants authentication (outbound_auth missing or wrong)",
    403: "the provider refuses this call: most often the caller ID (From/PAI) is not one "
         "it assigned to you, or the account may not call this destination",
    404: "the provider does not know this number",
    407: "the provider wants proxy authentication (outbound_auth)",
    408: "no answer in time from the provider",
    480: "the destination is temporarily unavailable",
    484: "the number is incomplete or in the wrong format (try the international format)",
    486: "busy",
    488: "no common codec (see the endpoint's allow)",
    503: "the provider is unavailable or out of capacity, or the trunk is blocked",
    603: "declined",
}


def check_number(value: str, what: str) -> str:
    """Digits (a leading +, * and # too): the value goes into a SIP URI and an AMI action."""
    if not _NUMBER.match(value):
        raise OperatorError(f"{what} {value!r} is not a dialable number",
                            fix="digits only, optionally with a leading +")
    return value


@dataclass
class PreflightResult:
    """What the provider answered, and what Asterisk sent to get that answer."""

    trunk: str
    number: str
    caller_id: str
    caller_id_basis: str = ""  # why this caller ID (given, or what a real call sends)
    answer: str = "no answer"  # "ringing: accepted", "403 Forbidden", ...
    code: int | None = None
    reason_header: str = ""
    sent: dict[str, str] = field(default_factory=dict)  # From, P-Asserted-Identity ...
    answered: bool = False  # the provider answered 200 (we hung up at once)
    cancelled: bool = False
    call: CallFlow | None = None
    meaning: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.code is not None and self.code < 300

    def lines(self) -> list[str]:
        """The report, printable."""
        out = [f"pre-flight through trunk {self.trunk} to {self.number}"
               + (f" with caller ID {self.caller_id}" if self.caller_id else "")
               + f": {self.answer}"]
        if self.caller_id_basis:
            out.append(f"  caller ID {self.caller_id or '(none)'}: {self.caller_id_basis}")
        if self.reason_header:
            out.append(f"  Reason: {self.reason_header}")
        if self.meaning:
            out.append(f"  means: {self.meaning}")
        for name, value in self.sent.items():
            out.append(f"  sent {name}: {value}")
        if self.answered:
            out.append("  the provider answered at once (no 180/183): hung up with BYE "
                       "immediately; that call may be billed")
        elif self.cancelled:
            out.append("  cancelled before answer (CANCEL, the provider answered 487): "
                       "nothing billed")
        elif self.code is not None and self.code < 200:
            out.append("  hung up after the provisional answer; no 487 seen in time")
        if self.fix:
            out.append(f"  fix: {self.fix}")
        return [printable(line) for line in out]

    def to_json(self) -> dict[str, Any]:
        return {"trunk": self.trunk, "number": self.number, "caller_id": self.caller_id,
                "caller_id_basis": self.caller_id_basis,
                "answer": self.answer, "code": self.code, "ok": self.ok,
                "reason_header": self.reason_header, "sent": self.sent,
                "answered": self.answered, "cancelled": self.cancelled,
                "meaning": self.meaning, "fix": self.fix,
                "call_id": self.call.call_id if self.call is not None else None}


async def _channel_name(ami: AmiActions, uniqueid: str) -> str:
    """Our channel's name, from `core show channels concise` (Uniqueid is the last field)."""
    for line in await ami.command("core show channels concise"):
        fields = line.split("!")
        if len(fields) > 2 and fields[-1] == uniqueid:
            return fields[0]
    return ""


async def _hang_up(ami: AmiActions, uniqueid: str) -> None:
    name = await _channel_name(ami, uniqueid)
    if name:  # the exact name: never a pattern that could match someone else's call
        await ami.action({"Action": "Hangup", "Channel": name})


def _our_call(flows: list[CallFlow], number: str, since: float) -> CallFlow | None:
    for flow in flows:
        invite = flow.invite
        if invite is not None and not invite.from_peer and \
                uri_user(invite.sip.request_uri) == number and \
                invite.message.timestamp >= int(since):
            return flow
    return None


def _responses(flow: CallFlow) -> list[tuple[int, str, str]]:
    """(code, 'code reason', Reason header) of the responses to the INVITE, in order."""
    invite = flow.invite
    if invite is None:
        return []
    out = []
    for rung in flow.rungs:
        status = rung.sip.status
        if rung.from_peer and status is not None and rung.sip.cseq == invite.sip.cseq:
            out.append((status, rung.sip.start.removeprefix("SIP/2.0 "),
                        rung.sip.get("reason")))
    return out


async def run_preflight(ami: AmiActions, trunk: str, number: str, caller_id: str,
                        state_file: Path, timeout: float = 20.0,
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                        config_dir: Path | None = None, *,
                        target: AmiTarget) -> PreflightResult:
    """Place the call, stop it at the first provisional answer, report.

    No caller_id: what a real outbound call through the trunk sends (calls/caller_id.py,
    read from config_dir); an Originate without one makes Asterisk send `anonymous`.
    The logger is switched on the one way (changes/logger_on.py): its guard, following
    this process, switches it off through target if we die before the `finally`."""
    if not _TRUNK.match(trunk):
        raise OperatorError(f"trunk name {trunk!r} is not valid")
    check_number(number, "number")
    basis = "given with --caller-id"
    if caller_id:
        check_number(caller_id, "caller ID")
    elif config_dir is not None:
        choice = await asyncio.to_thread(default_caller_id, config_dir, trunk)
        caller_id = choice.number
        basis = choice.basis + ("" if caller_id else ": Asterisk sends From user anonymous; "
                                "a real call sends the caller's number (give --caller-id)")
    else:
        basis = "none given: Asterisk sends From user anonymous"
    result = PreflightResult(trunk, number, caller_id, caller_id_basis=basis)
    logger, _state = await switch_logger_on(ami, target, trunks=[trunk],
                                            seconds=max(60.0, timeout + 30),
                                            state_file=state_file, follow_pid=os.getpid())
    try:
        await _call(ami, logger, result, timeout, sleep)
    finally:
        await logger.off()
    _explain(result)
    return result


async def _call(ami: AmiActions, logger: SipLogger, result: PreflightResult,
                timeout: float, sleep: Callable[[float], Awaitable[None]]) -> None:
    uniqueid = f"tcpreflight-{uuid.uuid4().hex[:12]}"
    fields: dict[str, Any] = {
        "Action": "Originate", "Channel": f"PJSIP/{result.number}@{result.trunk}",
        "Application": "Wait", "Data": "1", "Async": "true", "ChannelId": uniqueid,
        "Timeout": str(int(timeout * 1000))}
    if result.caller_id:
        fields["CallerID"] = f"<{result.caller_id}>"
    # panoramisk resolves an Async Originate only with its OriginateResponse event, which
    # comes after the answer (or the failure): watch the history meanwhile.
    originate = asyncio.ensure_future(ami.action(fields))
    try:
        await _watch(ami, logger, result, uniqueid, originate, timeout, sleep)
    finally:
        if not originate.done():
            originate.cancel()
        with contextlib.suppress(asyncio.CancelledError, OperatorError):
            await originate


def _refused(originate: asyncio.Future[Any]) -> str | None:
    """Asterisk's refusal of the Originate (e.g. Permission denied), once it answered."""
    if not originate.done() or originate.cancelled() or originate.exception() is not None:
        return None
    reply = originate.result()
    response = reply[0] if isinstance(reply, list) else reply
    if str(response.get("Response", "")).lower() == "error":
        return str(response.get("Message", "")) or "refused"
    return None


async def _watch(ami: AmiActions, logger: SipLogger, result: PreflightResult, uniqueid: str,
                 originate: asyncio.Future[Any], timeout: float,
                 sleep: Callable[[float], Awaitable[None]]) -> None:
    started = time.time() - 1
    messages = []
    hung_up = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (refusal := _refused(originate)) is not None:
            raise OperatorError("Asterisk refused the pre-flight call", evidence=refusal,
                                fix="the AMI user needs write=originate (manager.conf)")
        messages += await logger.poll(any_source=True, limit=None)
        flow = _our_call(group_calls(messages), result.number, started)
        responses = _responses(flow) if flow is not None else []
        finals = [r for r in responses if r[0] >= 200]
        provisional = [r for r in responses if 100 < r[0] < 200]
        if provisional and not hung_up and not finals:
            await _hang_up(ami, uniqueid)
            hung_up = True
            result.answer = f"ringing: accepted ({provisional[0][1]})"
            result.code = provisional[0][0]
        if finals:
            code, text, reason = finals[0]
            result.call = flow
            if code < 300:
                result.answered = True
                await _hang_up(ami, uniqueid)
                result.answer, result.code = f"answered: accepted ({text})", code
            elif hung_up and code == 487:
                result.cancelled = True
            else:
                result.answer, result.code, result.reason_header = text, code, reason
            break
        if flow is not None:
            result.call = flow
        await sleep(POLL)
    else:
        await _hang_up(ami, uniqueid)
    if result.call is not None and result.call.invite is not None:
        sip = result.call.invite.sip
        for name in ("From", "P-Asserted-Identity", "Remote-Party-ID", "P-Preferred-Identity"):
            if value := sip.get(name):
                result.sent[name] = value


def _explain(result: PreflightResult) -> None:
    if result.call is None:
        result.answer = "no INVITE left Asterisk (is the trunk's contact reachable?)"
        result.fix = (f"`trunkconsole status` shows whether trunk {result.trunk} is "
                      "Reachable; Asterisk will not dial a trunk without an available contact")
        return
    if result.code is None or result.code < 300:
        return
    result.meaning = MEANING.get(result.code, "")
    if result.code == 403:
        sent_from = uri_user(uri_of(result.sent.get("From", "")))
        result.fix = (f"Asterisk sent From user {sent_from or '?'}: if the provider assigned "
                      "you a number, send it for every call with `trunkconsole config set "
                      f"endpoint {result.trunk} from_user ASSIGNED_NUMBER` (reviewed diff, "
                      "reload, verified), or set CALLERID(num) in the outbound route; then "
                      f"run the pre-flight again")
