"""Read the window of Asterisk's logs once: events, the files read, and what was missed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.ami.message import AmiMessage
from trunkconsole.logs.clock import DateParser, UnsupportedDateformat
from trunkconsole.logs.events import REASON_EVENT, LineParser, LogEvent, keep
from trunkconsole.logs.setup import LoggerSetup, read_setup
from trunkconsole.logs.tail import DEFAULT_BUDGET, read_window
from trunkconsole.model.senders import SenderLog

SECURITY_LINE = "security.log => security"
NOTICE_LINE = "messages.log => notice,warning,error"


@dataclass
class LogRecord:
    """What the logs say about the last `since` seconds."""

    setup: LoggerSetup
    since: float  # Unix time the window starts at
    events: list[LogEvent] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    security_logged: bool = False  # a file carries the security level
    notice_logged: bool = False  # a file carries NOTICE (the distributor's refusals)

    def of_kind(self, *kinds: str) -> list[LogEvent]:
        return [e for e in self.events if e.kind in kinds]

    def senders(self) -> SenderLog:
        """Unknown senders as the logs show them (security events when logged, else the
        distributor's NOTICE lines, which say the same with less detail)."""
        log = SenderLog()
        source = self.of_kind("security") if self.security_logged else []
        if source:
            for event in source:
                log.record(AmiMessage(dict(event.fields)), event.at)
            return log
        for event in self.of_kind("request-failed"):
            message = _as_security(event)
            if message is not None:
                log.record(message, event.at)
        return log

    def about(self, address: str, limit: int = 3) -> list[LogEvent]:
        """The latest lines naming address (for evidence)."""
        found = [e for e in self.events if e.kind in ("security", "request-failed")
                 and _address_of(e) == address]
        return found[-limit:]


def _address_of(event: LogEvent) -> str:
    if event.kind == "security":
        parts = event.fields.get("remoteaddress", "").split("/")
        return parts[2] if len(parts) >= 4 else ""
    return split_host_port(event.fields.get("addr", ""))[0]


def split_host_port(value: str) -> tuple[str, str]:
    """'203.0.113.12:5061' or '[2001:db8::1]:5060' as (host, port)."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.lstrip(":")
    host, _, port = value.rpartition(":")
    return (host, port) if host else (value, "")


def _as_security(event: LogEvent) -> AmiMessage | None:
    name = REASON_EVENT.get(event.fields.get("reason", ""))
    if name not in ("InvalidAccountID", "FailedACL"):
        return None  # a failed authentication may be a known phone with a wrong password
    host, port = split_host_port(event.fields.get("addr", ""))
    family = "IPV6" if ":" in host else "IPV4"
    from_uri = event.fields.get("from", "")
    user = ""
    if "sip:" in from_uri:
        user = from_uri.split("sip:", 1)[1].split("@", 1)[0] if "@" in from_uri else ""
    return AmiMessage({"event": name, "service": "PJSIP", "accountid": user,
                       "sessionid": event.fields.get("callid", ""),
                       "remoteaddress": f"{family}/UDP/{host}/{port}"})


def read_logs(config_dir: Path, since_seconds: float, *, log_dir: Path | None = None,
              now: float | None = None, budget: int = DEFAULT_BUDGET) -> LogRecord:
    """Every relevant line of the last since_seconds, from the files logger.conf names."""
    start = (now if now is not None else time.time()) - since_seconds
    setup = read_setup(config_dir, log_dir)
    record = LogRecord(setup=setup, since=start)
    record.gaps.extend(setup.notes)
    try:
        dates = DateParser(setup.dateformat)
    except UnsupportedDateformat as exc:
        record.gaps.append(f"logger.conf dateformat {setup.dateformat!r}: {exc}")
        return record
    record.security_logged = bool(setup.carrying("security"))
    record.notice_logged = bool(setup.carrying("notice"))
    per_file = budget // max(1, len(setup.channels))
    for channel in setup.channels:
        if not ({"security", "notice", "verbose", "*"} & channel.levels):
            continue
        try:
            channel.path.stat()
        except FileNotFoundError:
            record.gaps.append(f"{channel.path} (logger.conf line {channel.line}) does not "
                               "exist yet")
            continue
        except OSError as exc:  # a name too long, a loop of links, no permission
            record.gaps.append(f"{channel.path} (logger.conf line {channel.line}): "
                               f"{exc.strerror or exc}")
            continue
        parser = LineParser(dates, channel.formatter)
        read = read_window(channel.path, start, parser.time_of, keep, per_file)
        record.files.extend(str(f) for f in read.files)
        record.gaps.extend(read.gaps)
        for file, text in read.lines:
            event = parser.parse(text, file)
            if event is not None and event.at >= start:
                record.events.append(event)
    record.events.sort(key=lambda e: e.at)
    return record


def merge_senders(live: SenderLog, past: SenderLog) -> None:
    """Fold the senders the logs show into the live ones (same request counted once by its
    SIP Call-ID while both saw it)."""
    for address, old in past.by_address.items():
        now = live.by_address.get(address)
        if now is None:
            live.by_address[address] = old
            continue
        overlap = len(set(now.sessions) & set(old.sessions))
        now.count += old.count - overlap
        now.first_seen = min(now.first_seen, old.first_seen)
        if old.last_seen > now.last_seen:
            now.last_seen, now.last_event = old.last_seen, old.last_event
        for account in old.accounts:
            if account not in now.accounts:
                now.accounts.insert(0, account)
