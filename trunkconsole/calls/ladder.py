"""Calls as sngrep draws them: SIP messages grouped by Call-ID, as a provider <-> PBX ladder.

Built from PJSIP's history (changes/sip_logger.py), which sees the messages after TLS
and records both directions with the peer's address. Its timestamps are whole seconds
(res_pjsip_history.c prints `timestamp.tv_sec`), so relative times are whole seconds.
A retransmission is the same message again in the same direction: the history records
every transmission pjsip makes (T1 timers) and every copy it receives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trunkconsole.calls.sdp import SdpSummary, parse_sdp
from trunkconsole.calls.sip import ParsedSip, parse_sip, printable, uri_hostport, uri_of, uri_user
from trunkconsole.calls.sip_history import SipMessage

# Where a provider may put the number dialled, in the order to trust them.
DID_HEADERS = ("request-uri", "to", "p-called-party-id", "diversion")
ARROW_WIDTH = 34
_DIGITS = re.compile(r"[^0-9]")


@dataclass(frozen=True)
class Rung:
    """One message on the ladder."""

    message: SipMessage
    sip: ParsedSip
    offset: int  # seconds since the call's first message
    from_peer: bool  # provider -> PBX
    retransmission: bool
    sdp: SdpSummary | None

    @property
    def label(self) -> str:
        """`INVITE (SDP)`, `183 Session Progress`, `200 OK (SDP)`."""
        text = self.sip.start.split(" ", 1)[0] if self.sip.is_request else \
            self.sip.start.removeprefix("SIP/2.0 ")
        return text + (" (SDP)" if self.sdp is not None else "")

    def note(self) -> str:
        """SDP summary, or the reason a rejection gives, or the numbers of an INVITE."""
        parts = []
        if self.retransmission:
            parts.append("retransmission")
        if self.sdp is not None:
            parts.append(self.sdp.describe())
        status = self.sip.status
        if status is not None and status >= 300 and (reason := self.sip.get("reason")):
            parts.append(f"Reason: {reason}")
        return "; ".join(parts)


def did_numbers(sip: ParsedSip) -> list[tuple[str, str]]:
    """(header, user part) for each place a provider may put the DID of an INVITE.

    Request-URI, To, P-Called-Party-ID (RFC 3455) and Diversion (RFC 5806); providers
    differ, and when the R-URI carries a pilot number the DID is in one of the others.
    """
    out = []
    for name in DID_HEADERS:
        values = [sip.request_uri] if name == "request-uri" else sip.all(name)
        for value in values:
            user = uri_user(value if name == "request-uri" else uri_of(value))
            if user:
                out.append(("Request-URI" if name == "request-uri" else _title(name), user))
    return out


def _title(name: str) -> str:
    return "-".join("ID" if part == "id" else part.capitalize() for part in name.split("-"))


@dataclass
class CallFlow:
    """The messages of one Call-ID, provider on the left, the PBX on the right."""

    call_id: str
    rungs: list[Rung] = field(default_factory=list)

    @property
    def first(self) -> Rung:
        return self.rungs[0]

    @property
    def peer(self) -> str:
        """The provider's ip:port (where the first message came from or went to)."""
        return self.first.message.address

    @property
    def inbound(self) -> bool:
        invite = self.invite
        return invite.from_peer if invite is not None else self.first.from_peer

    @property
    def invite(self) -> Rung | None:
        return next((r for r in self.rungs if r.sip.is_request and r.sip.method == "INVITE"),
                    None)

    @property
    def local(self) -> str:
        """Our own ip:port as the messages show it (Via we sent, else the R-URI we got)."""
        for rung in self.rungs:
            via = rung.sip.top_via
            ours = (not rung.from_peer and rung.sip.is_request) or (
                rung.from_peer and not rung.sip.is_request)
            if ours and via is not None and via.host:
                return _hostport(via.host, via.port or 5060)
        for rung in self.rungs:
            if rung.from_peer and rung.sip.is_request:
                host, port = uri_hostport(rung.sip.request_uri)
                if host:
                    return _hostport(host, port or 5060)
        return ""

    @property
    def method(self) -> str:
        return self.first.sip.method

    @property
    def caller(self) -> str:
        sip = (self.invite or self.first).sip
        return uri_user(uri_of(sip.get("p-asserted-identity") or sip.get("from")))

    @property
    def called(self) -> str:
        sip = (self.invite or self.first).sip
        return uri_user(sip.request_uri) or uri_user(uri_of(sip.get("to")))

    def outcome(self) -> str:
        """The final answer to the first INVITE (or request): `200 OK`, `403 Forbidden`."""
        first = self.invite or self.first
        cseq = first.sip.cseq
        provisional = ""
        for rung in self.rungs:
            status = rung.sip.status
            if status is None or rung.sip.cseq != cseq:
                continue
            if status >= 200:
                return rung.sip.start.removeprefix("SIP/2.0 ")
            if status > 100:
                provisional = rung.sip.start.removeprefix("SIP/2.0 ")
        return provisional or "no final answer"

    def numbers(self) -> set[str]:
        """Every number the call carries: R-URI, From, To, PAI, RPID, P-Called-Party-ID,
        Diversion."""
        sip = (self.invite or self.first).sip
        out = {user for _h, user in did_numbers(sip)}
        for name in ("from", "p-asserted-identity", "remote-party-id"):
            for value in sip.all(name):
                if user := uri_user(uri_of(value)):
                    out.add(user)
        return out

    def matches(self, needle: str) -> bool:
        """Search by number (digits compared, + and formatting ignored) or Call-ID."""
        needle = needle.strip()
        if not needle:
            return True
        if needle.casefold() in self.call_id.casefold():
            return True
        digits = _DIGITS.sub("", needle)
        return bool(digits) and any(digits in _DIGITS.sub("", n) for n in self.numbers())

    def summary(self) -> str:
        way = "inbound" if self.inbound else "outbound"
        return (f"{way} {self.method} {self.caller or '?'} -> {self.called or '?'}: "
                f"{self.outcome()}")

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id, "direction": "inbound" if self.inbound else "outbound",
            "provider": self.peer, "pbx": self.local, "caller": self.caller,
            "called": self.called, "outcome": self.outcome(),
            "did_headers": [{"header": h, "number": n} for h, n in
                            (did_numbers(self.invite.sip) if self.invite else [])],
            "messages": [{
                "number": r.message.number, "time": r.message.timestamp, "offset": r.offset,
                "direction": "provider->pbx" if r.from_peer else "pbx->provider",
                "label": r.label, "retransmission": r.retransmission,
                "sdp": r.sdp.describe() if r.sdp is not None else None,
            } for r in self.rungs],
        }


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CallIndex:
    """Calls built up message by message (the logger screen adds each poll's messages)."""

    def __init__(self) -> None:
        self.flows: dict[str, CallFlow] = {}
        self._seen: dict[str, set[tuple[bool, str]]] = {}
        self._numbers: set[int] = set()

    def add(self, message: SipMessage) -> CallFlow | None:
        """File one message under its Call-ID; None when it has none or was seen."""
        if message.number in self._numbers:
            return None
        sip = parse_sip(message.text or message.first_line)
        call_id = sip.call_id
        if not call_id:
            return None
        self._numbers.add(message.number)
        flow = self.flows.get(call_id)
        if flow is None:
            flow = self.flows[call_id] = CallFlow(call_id)
            self._seen[call_id] = set()
        key = (message.received, message.text)
        retransmission = bool(message.text) and key in self._seen[call_id]
        self._seen[call_id].add(key)
        start = flow.rungs[0].message.timestamp if flow.rungs else message.timestamp
        sdp = parse_sdp(sip.body) if sip.body else None
        flow.rungs.append(Rung(message, sip, message.timestamp - start, message.received,
                               retransmission, sdp))
        return flow


def group_calls(messages: Iterable[SipMessage]) -> list[CallFlow]:
    """Messages (any order) into calls by Call-ID, each in history order, oldest call
    first; messages without a Call-ID are left out."""
    index = CallIndex()
    for message in sorted(messages, key=lambda m: m.number):
        index.add(message)
    return list(index.flows.values())


def arrow(rung: Rung, width: int = ARROW_WIDTH, *, ascii_only: bool = True) -> str:
    """`|---- INVITE (SDP) ---->|` (provider -> PBX) or `|<--- 200 OK ----|`."""
    label = f" {rung.label} "
    if len(label) > width - 4:
        label = label[: width - 5] + "~ "
    dash, head_r, head_l = ("-", ">", "<") if ascii_only else ("─", "▶", "◀")
    fill = width - 2 - len(label) - 1
    left = fill // 2
    right = fill - left
    if rung.from_peer:
        return "|" + dash * left + label + dash * right + head_r + "|"
    return "|" + head_l + dash * left + label + dash * right + "|"


def render_ladder(flow: CallFlow) -> list[str]:
    """The ladder as plain text lines (the CLI twin of the logger screen's ladder)."""
    peer, local = flow.peer, flow.local or "PBX"
    lines = [f"Call-ID {flow.call_id}: {flow.summary()}"]
    if flow.invite is not None:
        where = ", ".join(f"{h} {n}" for h, n in did_numbers(flow.invite.sip))
        if where:
            lines.append(f"  number dialled: {where}")
    left, right = f"provider {peer}", f"PBX {local}"
    gap = max(1, ARROW_WIDTH + 1 - len(left) - len(right))
    lines.append(f"  {'time':>5}  {left}{' ' * gap}{right}")
    for rung in flow.rungs:
        mark = "R" if rung.retransmission else " "
        note = rung.note()
        stamp = f"+{rung.offset}s"
        lines.append(f"  {stamp:>5} {mark}{arrow(rung)}" + (f"  {note}" if note else ""))
    return [printable(line) for line in lines]

