"""Why Asterisk answered 488 Not Acceptable Here: the offer beside the endpoint's config.

Asterisk answers an offer it cannot take with 488 and logs `Couldn't negotiate stream`
(res_pjsip_session.c) or `No joint capabilities` (res_pjsip_sdp_rtp.c). Two causes:
- no offered codec is in the endpoint's allow (Asterisk names: ulaw for PCMU, alaw for
  PCMA, g729 ...); a format Asterisk only passes through needs no codec module;
- the transport profile: an RTP/SAVP (SRTP) offer to an endpoint with
  media_encryption=no, or an RTP/AVP offer to one that requires sdes or dtls (unless
  media_encryption_optimistic=yes; res_pjsip_sdp_rtp.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.calls.sdp import ASTERISK_CODEC, SdpSummary


@dataclass
class NotAcceptable:
    """What the offer and the endpoint disagree on, and the change that fixes it."""

    lines: list[str] = field(default_factory=list)
    option: str = ""  # endpoint option to change ...
    value: str = ""  # ... to this value

    @property
    def fix(self) -> str:
        return f"set {self.option}={self.value}" if self.option else ""


def asterisk_names(codecs: tuple[str, ...]) -> list[str]:
    """SDP encoding names as Asterisk's allow= spells them (telephone-event left out)."""
    out = []
    for codec in codecs:
        upper = codec.upper()
        if upper in ("TELEPHONE-EVENT", "CN"):
            continue
        out.append(ASTERISK_CODEC.get(upper, codec.lower()))
    return out


def explain_488(offer: SdpSummary | None, allow: list[str], media_encryption: str,
                optimistic: bool = False) -> NotAcceptable:
    """Compare an inbound offer with the endpoint's allow and media_encryption."""
    result = NotAcceptable()
    audio = offer.audio if offer is not None else None
    if audio is None:
        result.lines.append("the INVITE carried no audio offer (no SDP, or no m=audio)")
        return result
    encryption = (media_encryption or "no").lower()
    offered = asterisk_names(audio.codecs)
    allowed = [a.lower() for a in allow]
    result.lines.append(f"the provider offers {', '.join(offered) or 'no voice codec'} "
                        f"over {audio.proto or '?'}"
                        + (f" (SDES keys: {', '.join(audio.crypto)})" if audio.crypto else "")
                        + (" (DTLS fingerprint)" if audio.fingerprint else ""))
    result.lines.append(f"the endpoint allows {', '.join(allowed) or 'nothing'}, "
                        f"media_encryption={encryption}")
    if audio.secure and encryption == "no":
        result.lines.append("the offer is SRTP only (RTP/SAVP) and the endpoint does not do "
                            "SRTP: Asterisk cannot accept it")
        result.option = "media_encryption"
        result.value = "dtls" if audio.fingerprint and not audio.crypto else "sdes"
        return result
    if not audio.secure and encryption in ("sdes", "dtls") and not optimistic:
        result.lines.append(f"the endpoint requires SRTP (media_encryption={encryption}) and "
                            "the offer is plain RTP")
        result.option, result.value = "media_encryption", "no"
        return result
    common = [c for c in offered if c in allowed or "all" in allowed]
    if not common:
        result.lines.append("no codec in common")
        wanted = [c for c in offered if c not in allowed]
        result.option = "allow"
        result.value = ",".join(dict.fromkeys(allowed + wanted[:1]))
    return result
