"""What the PBX says about itself: version and uptime (CoreSettings, CoreStatus)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from panoramisk.message import Message

from trunkconsole.ami.connection import AmiConnection
from trunkconsole.errors import OperatorError


@dataclass(frozen=True)
class ServerInfo:
    """Asterisk version and when it started, read once per login."""

    asterisk_version: str
    ami_version: str
    system_name: str
    uptime_at_fetch: float  # seconds, as Asterisk computed it
    fetched_monotonic: float

    def uptime(self, now_monotonic: float | None = None) -> float:
        """Uptime now, advanced locally since the fetch (no AMI round trip per repaint)."""
        now = time.monotonic() if now_monotonic is None else now_monotonic
        return self.uptime_at_fetch + (now - self.fetched_monotonic)


def _stamp(date: str, clock: str) -> datetime | None:
    try:
        return datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


async def fetch_server_info(connection: AmiConnection) -> ServerInfo:
    """CoreSettings gives the version; `core show uptime seconds` the uptime.

    CoreSettings rather than the AMI banner: AMI_VERSION is 9.0.0 in every 20.x and 11.0.0
    in every 22.x (include/asterisk/manager.h), it says nothing about the release.
    CoreStatus has the start date and time but no current time in 22.x, and in the PBX's
    time zone, so it is only the fallback when the user lacks write=command.
    """
    settings = await connection.action({"Action": "CoreSettings"})
    assert isinstance(settings, Message)
    uptime = await _uptime_from_cli(connection)
    if uptime is None:
        status = await connection.action({"Action": "CoreStatus"})
        assert isinstance(status, Message)
        started = _stamp(str(status.get("CoreStartupDate", "")),
                         str(status.get("CoreStartupTime", "")))
        uptime = (datetime.now() - started).total_seconds() if started else 0.0
    return ServerInfo(
        asterisk_version=str(settings.get("AsteriskVersion", "unknown")),
        ami_version=str(settings.get("AMIversion", "")),
        system_name=str(settings.get("SystemName", "")),
        uptime_at_fetch=max(0.0, uptime),
        fetched_monotonic=time.monotonic(),
    )


async def _uptime_from_cli(connection: AmiConnection) -> float | None:
    try:
        lines = await connection.command("core show uptime seconds")
    except OperatorError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "System uptime" and value.strip().isdigit():
            return float(value.strip())
    return None


def format_uptime(seconds: float) -> str:
    """1d 02:03:04 style, as `core show uptime` readers expect."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock
