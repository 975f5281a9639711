"""What a DEPENDS verdict depends on, named in one short sentence per unknown.

DEPENDS is right only when the packet's fate hangs on state the rule files do not hold:
rate limits and meters (packet history), `recent` lists and dynamic set contents not
listed, conntrack/marks set elsewhere, routes (reverse-path filters) when reading files
offline, or facts about the probe the operator did not give (input interface, destination).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (pattern on the condition text, the state it depends on); first match wins
_STATE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), sentence) for pattern, sentence in (
        (r"ingress chain device",
         "which device the ingress chain is attached to (nft 1.0.6 JSON omits it; the "
         "collector reads it from `nft list chain`)"),
        (r"\b(ip|ip6|udp|tcp|th) (length|checksum|id|ttl|hoplimit|dscp|ecn|flowlabel|"
         r"hdrlength|frag-off|sequence|ackseq|window|urgptr|doff|reserved)\b",
         "a header field the sender sets (lengths, checksums, IP ID, TTL, DSCP)"),
        (r"tcpopt|tcp option|maxseg", "the TCP options (MSS) the sender puts in its SYN"),
        (r"-m physdev", "the bridge port the packet came through (physdev)"),
        (r"-m (string|u32|length|bpf)|@(nh|th|ll),",
         "the packet's contents: what the provider's INVITE or RTP carries beyond the "
         "modelled bytes (trunkconsole.net.payload)"),
        (r"\bxt (match|target)\b",
         "an iptables match hidden in nft JSON: give iptables-save output"),
        (r"hashlimit", "a per-source rate limit (hashlimit): how many packets came recently"),
        (r"\blimit\b", "a rate limit: how many packets arrived recently"),
        (r"\bquota\b", "a byte quota: how much traffic was counted so far"),
        (r"ct count|connlimit", "a connection count: how many connections are open now"),
        (r"\bmeter\b|update @|add @", "a meter/dynamic set: per-source packet history"),
        (r"\brecent\b", "an xt_recent list: which sources it holds now (/proc/net/xt_recent)"),
        (r"match-set|ipset", "the ipset's contents: give `ipset save` output"),
        (r"statistic|numgen|random", "random sampling (numgen/statistic)"),
        (r"fib saddr|rpfilter|reverse path",
         "the reverse path: routes back to the source (not in rule files)"),
        (r"\bsocket\b", "local sockets (socket match)"),
        (r"\bosf\b", "the sender's OS fingerprint"),
        (r"\btime\b|meta (hour|day)", "the time of day"),
        (r"queue", "a userspace program reading the queue"),
        (r"@[\w.-]+", "the contents of a set that is not in the listing"),
        (r"iif|input interface|arrives on", "the input interface: give --iif"),
        (r"daddr|dst-type|destination", "the destination address: give --dst"),
        (r"sport|source port", "the source port: give --sport"),
        (r"\bmark\b", "a packet or conntrack mark set outside these rules"),
        (r"ct (helper|direction|expiration|label)|-m conntrack",
         "conntrack state beyond new/established"),
    ))


@dataclass(frozen=True, slots=True)
class Condition:
    """One thing the walk could not decide: where, what the rule says, what it depends on."""

    where: str  # the rule's label, or "" for facts about the probe
    text: str

    def state(self) -> str:
        """The state outside the files this condition depends on, in a few words."""
        for pattern, sentence in _STATE:
            if pattern.search(self.text):
                return sentence
        return "an expression the engine cannot evaluate"

    def line(self, width: int = 160) -> str:
        """`a rate limit at inet f2b-table f2b-chain #4: limit rate 10/second (how many
        packets arrived recently)`: what it depends on first, so a narrow terminal cuts the
        rule text and the hint, never the state."""
        short, _, hint = self.state().partition(": ")
        what = clip(self.text, 60)
        where = f" at {self.where}: {what}" if self.where else f": {what}"
        return clip(f"{short}{where}" + (f" ({hint})" if hint else ""), width)


def clip(text: str, width: int) -> str:
    """One line of at most width characters (rule texts can be kilobytes long)."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    text = indent + " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
