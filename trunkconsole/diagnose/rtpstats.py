"""Per-call RTP counters from `pjsip show channelstats` (the CLI, over AMI Command).

AMI has no action for per-channel RTP statistics in 22.x; RTCP events would need
rtcp on both sides. The CLI table is stable across 20/22 (res_pjsip_sdp_rtp/pjsip_cli):
BridgeId (may be empty), ChannelId, UpTime, Codec, then Receive Count/Lost/Pct/Jitter and
Transmit Count/Lost/Pct/Jitter, RTT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROW = re.compile(
    r"(?P<channel>\S+-[0-9a-f]{8})\s+(?P<up>\d+:\d\d:\d\d)\s+(?P<codec>\S+)\s+"
    r"(?P<rx>\d+)\s+(?P<rx_lost>\d+)\s+\S+\s+\S+\s+(?P<tx>\d+)")


@dataclass(frozen=True)
class RtpStats:
    channel: str  # PJSIP/carrier-00000003
    uptime: int  # seconds
    codec: str
    rx_packets: int
    rx_lost: int
    tx_packets: int

    @property
    def endpoint(self) -> str:
        return self.channel.removeprefix("PJSIP/").rsplit("-", 1)[0]


def parse_channelstats(lines: list[str]) -> dict[str, RtpStats]:
    """Channel name -> counters."""
    out: dict[str, RtpStats] = {}
    for line in lines:
        match = _ROW.search(line)
        if match is None:
            continue
        hours, minutes, seconds = (int(part) for part in match["up"].split(":"))
        name = f"PJSIP/{match['channel']}"
        out[name] = RtpStats(name, hours * 3600 + minutes * 60 + seconds, match["codec"],
                             int(match["rx"]), int(match["rx_lost"]), int(match["tx"]))
    return out
