"""Asterisk log lines that matter to trunks, as LogEvents.

Line layouts (main/logger.c): default `[DATE] LEVEL[LWP][C-xxxxxxxx] file.c: message`,
plain `[DATE] LEVEL[LWP][C-xxxxxxxx]: file.c:LINE function: message`, json
`{"timestamp": DATE, "logmsg": {"level": .., "message": ..}}`. Messages read here:

- res_pjsip/pjsip_distributor.c, NOTICE: `Request 'M' from 'FROM' failed for 'ADDR:PORT'
  (callid: ID) - REASON[ after N tries in X ms]`, REASON one of `No matching endpoint
  found`, `Failed to authenticate`, `Error to authenticate`, `Not match Endpoint ACL`,
  `Not match Endpoint Contact ACL`.
- res_security_log.c, SECURITY: `SecurityEvent="InvalidAccountID",EventTV="...",...`.
- res_pjsip/pjsip_options.c, VERBOSE: `Contact E/URI is now Unreachable.  RTT: 0.000 msec`;
  pjsip_configuration.c: `Endpoint E is now Reachable`.
- res_pjsip_session.c, NOTICE: `Call (UDP:ADDR:PORT) to extension 'X' rejected because
  extension not found in context 'C'.`
- res_pjsip_outbound_registration.c, WARNING (handle_registration_response, schedule_retry):
  the only place the registrar's answer is kept (AMI's Registry event has no cause, and its
  `Rejected` covers 401/403 as well as no answer at all). Note the order: "received from
  'SERVER_URI' on registration attempt to 'CLIENT_URI'".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.logs.clock import DateParser, parse_event_tv

KEYWORDS = (b"SecurityEvent=", b"' failed for '", b" is now ", b"extension not found",
            b"No joint capabilities", b"registration attempt", b"outbound registration to")
_HEADER = re.compile(r"^\[(?P<date>[^\]]{1,64})\] (?P<level>[A-Z_]+)\[(?P<lwp>\d+)\]"
                     r"(?:\[(?P<callid>C-[0-9a-fA-F]+)\])?:? (?P<rest>.*)$")
_REQUEST = re.compile(r"Request '(?P<method>[^']*)' from '(?P<from>.*)' failed for "
                      r"'(?P<addr>[^']*)' \(callid: (?P<callid>.*?)\) - (?P<reason>.*?)"
                      r"(?: after (?P<tries>\d+) tries in [\d.]+ ms)?$")
_CONTACT = re.compile(r"Contact (?P<aor>[^/\s]+)/(?P<uri>\S+) is now (?P<status>\w+)\."
                      r"\s+RTT: (?P<rtt>[\d.]+) msec")
_ENDPOINT = re.compile(r"Endpoint (?P<endpoint>\S+) is now (?P<status>\w+)$")
_NOEXTEN = re.compile(r"Call \((?P<transport>\w+):(?P<addr>[^)]*)\) to extension "
                      r"'(?P<exten>[^']*)' rejected because extension not found in context "
                      r"'(?P<context>[^']*)'")
_ON_ATTEMPT = (r"received from '(?P<server>[^']*)' on registration attempt to "
               r"'(?P<client>[^']*)'")
# (pattern, outcome); a missing code means no SIP answer came back (timeout, send failure).
_REGISTRATION = (
    (re.compile(r"^Temporal response '(?P<code>\d+)' " + _ON_ATTEMPT), "retrying"),
    (re.compile(r"^No response " + _ON_ATTEMPT), "retrying"),
    (re.compile(r"^(?P<code>403) Forbidden fatal response " + _ON_ATTEMPT), "retrying"),
    (re.compile(r"^'(?P<code>\d+)' fatal response " + _ON_ATTEMPT), "retrying"),
    (re.compile(r"^Fatal response '(?P<code>\d+)' " + _ON_ATTEMPT), "stopped"),
    (re.compile(r"^Fatal registration attempt to '(?P<client>[^']*)', stopping"), "stopped"),
    (re.compile(r"^Maximum retries reached when attempting outbound registration to "
                r"'(?P<server>[^']*)' with client '(?P<client>[^']*)'"), "stopped"),
)
_DEFAULT_PREFIX = re.compile(r"[\w./-]+: ")
_PLAIN_PREFIX = re.compile(r"[\w./-]+:\d+ \w*: ")
_SECURITY_FIELD = re.compile(r'(\w+)="(.*?)"(?=,\w+="|\s*$)')
REASON_EVENT = {"No matching endpoint found": "InvalidAccountID",
                "Not match Endpoint ACL": "FailedACL",
                "Not match Endpoint Contact ACL": "FailedACL",
                "Failed to authenticate": "ChallengeResponseFailed",
                "Error to authenticate": "ChallengeResponseFailed"}


@dataclass(frozen=True)
class LogEvent:
    """One fact from a log line: when, what kind, its fields, and where it was read."""

    at: float
    kind: str  # request-failed | security | contact | endpoint | no-extension | registration
    fields: dict[str, str] = field(default_factory=dict)
    file: str = ""
    text: str = ""  # the line as written (raw: front ends show it through visible())

    def to_json(self) -> dict[str, object]:
        return {"at": self.at, "kind": self.kind, "fields": dict(self.fields),
                "file": self.file, "text": self.text}


def split_line(text: str, formatter: str) -> tuple[str, str, str] | None:
    """(date, level, message) of one log line, or None."""
    if formatter == "json" and text.startswith("{"):
        try:
            data = json.loads(text)
            msg = data.get("logmsg", {})
            return str(data.get("timestamp", "")), str(msg.get("level", "")), \
                str(msg.get("message", "")).rstrip("\n")
        except (ValueError, AttributeError):
            return None
    match = _HEADER.match(text)
    if match is None:
        return None
    rest = match.group("rest")
    # default: "file.c: message"; plain: "file.c:123 function: message"
    prefix = (_PLAIN_PREFIX if formatter == "plain" else _DEFAULT_PREFIX).match(rest)
    message = rest[prefix.end():] if prefix else rest
    return match.group("date"), match.group("level"), message


class LineParser:
    """Log lines of one file to LogEvents."""

    def __init__(self, dates: DateParser, formatter: str = "default") -> None:
        self.dates = dates
        self.formatter = formatter

    def time_of(self, text: str) -> float | None:
        split = split_line(text, self.formatter)
        return None if split is None else self.dates.parse(split[0])

    def parse(self, text: str, file: Path | str = "") -> LogEvent | None:
        split = split_line(text, self.formatter)
        if split is None:
            return None
        date, level, message = split
        at = self.dates.parse(date)
        if at is None:
            return None
        line = text[:2000]
        name = str(file)
        if level == "SECURITY" or message.startswith("SecurityEvent="):
            fields = {k.lower(): v for k, v in _SECURITY_FIELD.findall(message)}
            if "securityevent" not in fields:
                return None
            fields["event"] = fields.pop("securityevent")
            exact = parse_event_tv(fields.get("eventtv", ""))
            return LogEvent(exact if exact is not None else at, "security", fields, name, line)
        if (m := _REQUEST.search(message)) is not None:
            fields = {k: v or "" for k, v in m.groupdict().items()}
            return LogEvent(at, "request-failed", fields, name, line)
        if (m := _CONTACT.search(message)) is not None:
            return LogEvent(at, "contact", {k: v for k, v in m.groupdict().items()},
                            name, line)
        if (m := _ENDPOINT.search(message.rstrip())) is not None:
            return LogEvent(at, "endpoint",
                            {k: v for k, v in m.groupdict().items()}, name, line)
        if (m := _NOEXTEN.search(message)) is not None:
            return LogEvent(at, "no-extension",
                            {k: v for k, v in m.groupdict().items()}, name, line)
        return registration_event(message, at, name, line)


def registration_event(message: str, at: float, file: str, line: str) -> LogEvent | None:
    """A registrar's answer (or its absence) to one outbound REGISTER attempt."""
    for pattern, outcome in _REGISTRATION:
        if (m := pattern.match(message)) is not None:
            fields = {"server": "", "code": "", **{k: v or "" for k, v in
                                                   m.groupdict().items()}}
            fields["outcome"] = outcome
            return LogEvent(at, "registration", fields, file, line)
    return None


def keep(raw: bytes) -> bool:
    """Cheap pre-filter on raw bytes before any parsing (AMI logins are not ours)."""
    if b"SecurityEvent=" in raw:
        return b'Service="PJSIP"' in raw and b"SuccessfulAuth" not in raw
    return any(word in raw for word in KEYWORDS)
