"""What an SDP offer or answer says about the audio: where, which codecs, which way, SRTP.

Static payload types come from RFC 3551 §6 (0 PCMU, 8 PCMA, 9 G722, 18 G729 ...); a
dynamic one is named by its a=rtpmap. A media-level c= overrides the session-level one
(RFC 4566 §5.7); a=sendrecv is the default direction; port 0 declines the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATIC_PT = {0: "PCMU", 3: "GSM", 4: "G723", 5: "DVI4", 7: "LPC", 8: "PCMA", 9: "G722",
             10: "L16", 11: "L16", 13: "CN", 15: "G728", 18: "G729"}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# Asterisk's codec names (allow=) for the SDP encoding names they negotiate as.
ASTERISK_CODEC = {"PCMU": "ulaw", "PCMA": "alaw", "G722": "g722", "G729": "g729",
                  "GSM": "gsm", "OPUS": "opus", "ILBC": "ilbc", "SPEEX": "speex",
                  "G726-32": "g726", "AMR": "amr", "AMR-WB": "amrwb", "SILK": "silk"}


@dataclass(frozen=True)
class MediaStream:
    """One m= line with what applies to it."""

    kind: str  # audio, video, image
    address: str  # the effective c= address
    port: int
    proto: str  # RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF ...
    codecs: tuple[str, ...]  # encoding names in offer order, telephone-event included
    direction: str
    crypto: tuple[str, ...] = ()  # a=crypto suites (SDES-SRTP)
    fingerprint: bool = False  # a=fingerprint: DTLS-SRTP

    @property
    def secure(self) -> bool:
        return "SAVP" in self.proto.upper()

    @property
    def voice_codecs(self) -> tuple[str, ...]:
        """Codecs that carry voice (telephone-event and comfort noise left out)."""
        return tuple(c for c in self.codecs
                     if c.upper() not in ("TELEPHONE-EVENT", "CN"))

    def describe(self) -> str:
        """`203.0.113.10:6004 PCMA,telephone-event sendrecv RTP/AVP`."""
        text = f"{self.address}:{self.port} {','.join(self.codecs) or '-'} {self.direction}"
        if self.port == 0:
            text += " (declined)"
        if self.secure or self.crypto or self.fingerprint:
            how = "SDES " + ",".join(self.crypto) if self.crypto else (
                "DTLS" if self.fingerprint else "no keys")
            text += f" {self.proto} ({how})"
        return text


@dataclass(frozen=True)
class SdpSummary:
    """The session's c= address and its streams."""

    session_address: str
    streams: tuple[MediaStream, ...] = field(default_factory=tuple)

    @property
    def audio(self) -> MediaStream | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    def describe(self) -> str:
        audio = self.audio
        return audio.describe() if audio is not None else (
            ", ".join(f"{s.kind} {s.describe()}" for s in self.streams) or "no media")


def parse_sdp(body: str) -> SdpSummary | None:
    """None when the body is not SDP (no v= line)."""
    lines = [line.strip() for line in body.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or not lines[0].startswith("v="):
        return None
    session_address, session_direction = "", "sendrecv"
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        elif line.startswith("c="):
            session_address = _connection(line)
        elif line[2:] in DIRECTIONS and line.startswith("a="):
            session_direction = line[2:]
    streams = tuple(_stream(block, session_address, session_direction) for block in blocks)
    return SdpSummary(session_address, streams)


def _connection(line: str) -> str:
    parts = line[2:].split()
    return parts[2].split("/")[0] if len(parts) >= 3 else ""


def _stream(block: list[str], session_address: str, session_direction: str) -> MediaStream:
    head = block[0][2:].split()
    kind = head[0] if head else ""
    port = int(head[1].split("/")[0]) if len(head) > 1 and head[1].split("/")[0].isdigit() \
        else 0
    proto = head[2] if len(head) > 2 else ""
    formats = head[3:]
    address, direction = session_address, session_direction
    names: dict[str, str] = {}
    crypto: list[str] = []
    fingerprint = False
    for line in block[1:]:
        if line.startswith("c="):
            address = _connection(line)
        elif line.startswith("a=rtpmap:"):
            pt, _, rest = line[9:].partition(" ")
            names[pt] = rest.split("/")[0]
        elif line.startswith("a=crypto:"):
            parts = line[9:].split()
            if len(parts) > 1:
                crypto.append(parts[1])
        elif line.startswith("a=fingerprint:"):
            fingerprint = True
        elif line.startswith("a=") and line[2:] in DIRECTIONS:
            direction = line[2:]
    codecs = []
    for pt in formats:
        if pt in names:
            codecs.append(names[pt])
        elif pt.isdigit() and int(pt) in STATIC_PT:
            codecs.append(STATIC_PT[int(pt)])
        else:
            codecs.append(f"pt{pt}")
    return MediaStream(kind, address, port, proto, tuple(codecs), direction, tuple(crypto),
                       fingerprint)
