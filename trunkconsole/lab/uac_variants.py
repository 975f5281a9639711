"""Variants of the carrier's inbound INVITE (uac.xml), written per call burst.

The carriers the console must explain differ in a header or an SDP line: the DID in
P-Called-Party-ID with a pilot number in the Request-URI, an offer of codecs the trunk
does not allow, RTP/SAVP with SDES keys, a c= address that is not where the packets come
from. sipp cannot leave out a header line by key (an empty line ends the headers), so
the scenario file itself is rendered, from uac.xml, into the lab's log directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from trunkconsole.errors import OperatorError

_NUMBER = re.compile(r"^\+?[0-9]{1,32}$")
_ADDRESS = re.compile(r"^[0-9.]{7,15}$")
# Payload types sipp's SDP may offer, with their rtpmap (RFC 3551 static types).
RTPMAP = {"0": "PCMU/8000", "8": "PCMA/8000", "9": "G722/8000", "18": "G729/8000",
          "3": "GSM/8000"}
# An SDES key (RFC 4568 §9.1 example layout): a fixed test key, never a secret.
CRYPTO = ("a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
          "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32")


@dataclass(frozen=True)
class InviteVariant:
    """What differs from the plain INVITE; the default renders uac.xml unchanged."""

    called_party: str = ""  # P-Called-Party-ID user (the DID), R-URI keeps the pilot
    offer: tuple[str, ...] = ()  # payload types offered instead of PCMU
    srtp: bool = False  # RTP/SAVP with an a=crypto line
    sdp_address: str = ""  # c= address instead of the sender's own

    @property
    def plain(self) -> bool:
        return self == InviteVariant()

    def validate(self) -> None:
        if self.called_party and not _NUMBER.match(self.called_party):
            raise OperatorError(f"{self.called_party!r} is not a number")
        for pt in self.offer:
            if pt not in RTPMAP:
                raise OperatorError(f"payload type {pt!r} is not one the lab offers",
                                    fix="one of " + ", ".join(sorted(RTPMAP)))
        if self.sdp_address and not _ADDRESS.match(self.sdp_address):
            raise OperatorError(f"{self.sdp_address!r} is not an IPv4 address")


def render(base: Path, variant: InviteVariant, out: Path) -> Path:
    """Write the variant of base (uac.xml) to out; return out."""
    variant.validate()
    text = base.read_text()
    if variant.called_party:
        text = text.replace(
            "      Max-Forwards: 70\n",
            f"      P-Called-Party-ID: <sip:{variant.called_party}@[remote_ip]>\n"
            "      Max-Forwards: 70\n", 1)
    media_line = "m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000\n"
    if media_line not in text:
        raise OperatorError(f"{base.name} does not have the SDP this variant rewrites")
    offer = variant.offer or ("0",)
    proto = "RTP/SAVP" if variant.srtp else "RTP/AVP"
    lines = [f"m=audio [media_port] {proto} {' '.join(offer)}"]
    lines += [f"a=rtpmap:{pt} {RTPMAP[pt]}" for pt in offer]
    if variant.srtp:
        lines.append(CRYPTO)
    text = text.replace(media_line, "\n      ".join(lines) + "\n", 1)
    if variant.sdp_address:
        text = text.replace("c=IN IP[media_ip_type] [media_ip]",
                            f"c=IN IP4 {variant.sdp_address}", 1)
    out.write_text(text)
    return out
