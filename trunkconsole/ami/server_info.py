"""What the PBX says about itself: version and uptime (CoreSettings, CoreStatus)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from panoramisk.message import Message

from trunkconsole.ami.connection import AmiConnection


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
    """CoreSettings gives the version; CoreStatus the start and current time.

    CoreSettings rather than the AMI banner: AMI_VERSION is 9.0.0 in every 20.x and 11.0.0
    in every 22.x (include/asterisk/manager.h), it says nothing about the release.
    """
    settings = await connection.action({"Action": "CoreSettings"})
    status = await connection.action({"Action": "CoreStatus"})
    assert isinstance(settings, Message) and isinstance(status, Message)
    started = _stamp(str(status.get("CoreStartupDate", "")), str(status.get("CoreStartupTime", "")))
    current = _stamp(str(status.get("CoreCurrentDate", "") or status.get("CoreStartupDate", "")),
                     str(status.get("CoreCurrentTime", "")))
    uptime = (current - started).total_seconds() if started and current else 0.0
    return ServerInfo(
        asterisk_version=str(settings.get("AsteriskVersion", "unknown")),
        ami_version=str(settings.get("AMIversion", "")),
        system_name=str(settings.get("SystemName", "")),
        uptime_at_fetch=max(0.0, uptime),
        fetched_monotonic=time.monotonic(),
    )


def format_uptime(seconds: float) -> str:
    """1d 02:03:04 style, as `core show uptime` readers expect."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock
