"""Small pure conversions of AMI values: device states, identify matches, durations."""

from __future__ import annotations

import ipaddress

# DeviceStateChange uses the parseable names, EndpointList/EndpointDetail the human ones
# for the same states (main/devicestate.c:164 vs :121; reference §1.9). One spelling here.
DEVICE_STATES: dict[str, str] = {
    "UNKNOWN": "Unknown",
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "BUSY": "Busy",
    "INVALID": "Invalid",
    "UNAVAILABLE": "Unavailable",
    "RINGING": "Ringing",
    "RINGINUSE": "Ring+Inuse",
    "ONHOLD": "On Hold",
}


def device_state(value: str) -> str:
    """Either spelling of a device state, as the human name."""
    return DEVICE_STATES.get(value, value or "Unknown")


def cidr(entry: str) -> str:
    """`203.0.113.0/255.255.255.0` (ast_ha_join) as `203.0.113.0/24`; ports are kept."""
    address, sep, mask = entry.strip().partition("/")
    if not sep:
        return address
    if mask.isdigit():
        return f"{address}/{mask}"
    try:
        family_zero = "::" if ":" in mask else "0.0.0.0"
        prefix = ipaddress.ip_network(f"{family_zero}/{mask}").prefixlen
    except ValueError:
        return entry.strip()
    return f"{address}/{prefix}"


def split_matches(value: str) -> tuple[str, ...]:
    """IdentifyDetail `Match:` (comma-joined) as CIDR strings."""
    return tuple(cidr(part) for part in value.split(",") if part.strip())


def split_list(value: str) -> tuple[str, ...]:
    """A comma list from AMI (aors, auths), without empty items."""
    if "," not in value:  # the common case, 10,000 times per listing: one item or none
        value = value.strip()
        return (value,) if value else ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def endpoint_of_channel(channel: str) -> str:
    """`PJSIP/carrier-0000002a` -> `carrier`; '' for other technologies."""
    if not channel.startswith("PJSIP/"):
        return ""
    return channel[6:].rpartition("-")[0]


def started_from_uniqueid(uniqueid: str) -> float | None:
    """A channel's creation time: Uniqueid is `[systemname-]epoch.sequence`."""
    epoch = uniqueid.rpartition("-")[2].partition(".")[0]
    return float(epoch) if epoch.isdigit() else None


def hms_seconds(value: str) -> int:
    """CoreShowChannel `Duration: 00:01:23` in seconds (0 when unreadable)."""
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


def to_int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def remote_address(value: str) -> tuple[str, str, str]:
    """Security event `IPV4/UDP/203.0.113.9/5060` as (address, transport, port)."""
    parts = value.split("/")
    if len(parts) >= 4:
        return parts[2], parts[1], parts[3]
    return value, "", ""


# Applications Asterisk gives the channel it dials, with data "(Outgoing Line)":
# app_dial.c (AppDial), main/dial.c for Originate and ARI (AppDial2), app_queue.c.
OUTGOING_APPS = frozenset({"AppDial", "AppDial2", "AppQueue"})


def direction(fields: dict[str, str]) -> tuple[bool, str]:
    """(inbound, how we know) for a channel, from the first event we saw about it.

    Newchannel: Asterisk creates an incoming channel in state Ring (4), a dialled one in
    Down (0). A channel already up when we joined (CoreShowChannel, Newstate ...) is read
    from its snapshot: a leg Dial/Originate/Queue created runs AppDial/AppDial2/AppQueue
    with "(Outgoing Line)" until it hangs up, and carries the Linkedid of the channel that
    began the call; the channel that began it (Linkedid = its own Uniqueid) received the
    INVITE. An Originate's own channel, once answered and running dialplan, looks like the
    latter (said in the basis).
    """
    if fields.get("event") == "Newchannel":
        return to_int(fields.get("channelstate", "0")) == 4, "seen from its start"
    app = fields.get("application", "")
    if app in OUTGOING_APPS or fields.get("applicationdata") == "(Outgoing Line)":
        return False, f"joined mid-call, {app or 'dialled'} (Outgoing Line)"
    uid, linked = fields.get("uniqueid", ""), fields.get("linkedid", "")
    if linked and linked != uid:
        return False, f"joined mid-call, dialled from channel {linked}"
    return True, "joined mid-call, the channel that began the call"
