"""What a probe packet carries, so payload matches (`-m string`, `-m u32`, nft `@th,...`)
are decided instead of left unknown.

The probe is the first packet of what the operator asks about:
- TCP: the SYN of a new connection. It carries no payload, so a string or payload match
  past the TCP header never matches it (the kernel's xt_string searches no bytes; nft's
  raw payload load past the end breaks the rule).
- UDP to a signalling port (5060-5099, 5160-5161): an unsolicited INVITE as sipp's
  built-in `uac` scenario sends it (`INVITE sip:service@HOST:PORT SIP/2.0`, Via, From, To,
  Call-ID, CSeq, Contact, Max-Forwards, Subject, Content-Type application/sdp, SDP body).
  No User-Agent header: a provider's INVITE carries none of the SIP scanners' signatures
  (friendly-scanner, sipvicious, sipcli, VaxSIPUserAgent...), the strings hardening guides
  drop on. Any other text the INVITE may or may not carry is payload the files do not
  decide.
- UDP to any other port: an RTP packet (RFC 3550: first byte 0x80, version 2, no padding,
  extension nor CSRC); the payload type, sequence, timestamp and SSRC are not known.

Known bytes are modelled with a mask, so a match reading only known bits is decided and
one reading unknown bits (IP ID, TTL, lengths, checksums) stays unknown.
"""

from __future__ import annotations

import ipaddress

SIP_PORTS = frozenset({*range(5060, 5100), 5160, 5161})
# User-Agent / From strings of SIP scanners, as hardening guides list them (MikoPBX
# "fine-tuning the firewall", litnimax/asterisk-salt security.sls): lower case
SCANNER_SIGNATURES = ("friendly-scanner", "sipvicious", "sipcli", "vaxsipuseragent",
                      "sip-scan", "iwar", "sipsak", "sundayddr", "sipptk", "smap",
                      "pplsip", "sip-scanner", "voipbuster")


def kind(proto: str, dport: int, dport_hi: int | None, state: str = "new") -> str:
    """`syn`, `sip`, `rtp` or `` (a TCP packet of an established connection: unknown)."""
    if proto == "tcp":
        return "syn" if state == "new" else ""
    if proto != "udp":
        return ""
    hi = dport if dport_hi is None else dport_hi
    if all(port in SIP_PORTS for port in (dport, hi)) and hi - dport < len(SIP_PORTS) and \
            all(port in SIP_PORTS for port in range(dport, hi + 1)):
        return "sip"
    return "rtp"


def invite(src: str, dst: str, dport: int, sport: int) -> bytes:
    """The INVITE sipp's uac scenario sends (sipp 3.x src/scenario.cpp default_uac)."""
    s = f"[{src}]" if ":" in src else src
    d = f"[{dst}]" if ":" in dst else dst
    sdp = (f"v=0\r\no=user1 53655765 2353687637 IN IP{6 if ':' in src else 4} {src}\r\n"
           f"s=-\r\nc=IN IP{6 if ':' in src else 4} {src}\r\nt=0 0\r\n"
           f"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    head = (f"INVITE sip:service@{d}:{dport} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {s}:{sport};branch=z9hG4bK-{sport}-1-0\r\n"
            f"From: sipp <sip:sipp@{s}:{sport}>;tag={sport}SIPpTag001\r\n"
            f"To: service <sip:service@{d}:{dport}>\r\n"
            f"Call-ID: 1-{sport}@{s}\r\n"
            f"CSeq: 1 INVITE\r\n"
            f"Contact: sip:sipp@{s}:{sport}\r\n"
            f"Max-Forwards: 70\r\n"
            f"Subject: Performance Test\r\n"
            f"Content-Type: application/sdp\r\n"
            f"Content-Length: {len(sdp)}\r\n\r\n")
    return (head + sdp).encode()


def rtp(sport: int) -> bytes:
    """An RTP packet: V=2, PT 0 (PCMU), sequence and SSRC from the port, 160 bytes audio."""
    return bytes([0x80, 0x00]) + sport.to_bytes(2, "big") + (sport * 160).to_bytes(
        4, "big") + (0x5EED0000 | sport).to_bytes(4, "big") + b"\xff" * 160


def datagram(proto: str, src: str, dst: str, dport: int, sport: int) -> bytes:
    """What a UDP probe carries on the wire (the kernel-agreement tests send exactly this)."""
    if kind(proto, dport, None) == "sip":
        return invite(str(ipaddress.ip_address(src)), dst, dport, sport)
    return rtp(sport)


# Texts every INVITE probe carries (the request line, the mandatory headers, the SDP): a
# string match on one of these matches; on a scanner signature it does not.
INVITE_TEXTS = ("INVITE sip:", " SIP/2.0\r\n", "Via: SIP/2.0/UDP ", "From: ", "To: ",
                "Call-ID: ", "CSeq: 1 INVITE", "Contact: ", "Max-Forwards: ",
                "Content-Type: application/sdp", "Content-Length: ", "v=0", "m=audio ",
                "RTP/AVP")


def string_match(pattern: bytes, payload_kind: str, *, icase: bool,
                 whole_packet: bool) -> bool | None:
    """Does a probe of this kind contain pattern? None when its payload decides."""
    if not pattern:
        return None
    if payload_kind == "syn":
        return False  # a SYN has no payload; headers alone cannot hold a long pattern
    low = pattern.lower()
    if any(sig.encode() in low for sig in SCANNER_SIGNATURES):
        return False
    if payload_kind == "sip" and whole_packet:
        texts = [t.encode() for t in INVITE_TEXTS]
        if any((pattern.lower() in t.lower()) if icase else (pattern in t) for t in texts):
            return True
    return None


# --- bit-level view of the first bytes of a probe ------------------------------------------

Known = tuple[bytes, bytes]  # (values, mask of known bits), one entry per byte


def _bytes(values: list[int | None]) -> Known:
    return (bytes(v or 0 for v in values), bytes(0 if v is None else 0xFF for v in values))


def network_header(family: int, l4: int, saddr: int, daddr: int | None) -> Known:
    """IPv4 (no options) or IPv6 (no extension headers) header, unknown fields masked."""
    if family == 4:
        src = list(saddr.to_bytes(4, "big"))
        dst: list[int | None] = [None] * 4 if daddr is None else list(daddr.to_bytes(4, "big"))
        values: list[int | None] = [0x45, None, None, None, None, None, None, 0, None, l4,
                                    None, None, *src, *dst]
        vals, mask = _bytes(values)
        # flags/fragment: reserved 0, DF unknown, MF 0, offset 0 (probes are unfragmented)
        mask = mask[:6] + bytes([0xBF]) + mask[7:]
        return vals, mask
    src6 = list(saddr.to_bytes(16, "big"))
    dst6: list[int | None] = [None] * 16 if daddr is None else list(daddr.to_bytes(16, "big"))
    vals, mask = _bytes([None, None, None, None, None, None, l4, None, *src6, *dst6])
    return (bytes([0x60]) + vals[1:], bytes([0xF0]) + mask[1:])


def transport(payload_kind: str, dport: int | None, sport: int | None) -> Known:
    """The transport header and the known start of the payload."""
    port: list[int | None] = [None, None] if sport is None else list(sport.to_bytes(2, "big"))
    dst: list[int | None] = [None, None] if dport is None else list(dport.to_bytes(2, "big"))
    if payload_kind == "syn":
        return _bytes([*port, *dst])
    head: list[int | None] = [*port, *dst, None, None, None, None]
    if payload_kind == "sip":
        return _bytes([*head, *b"INVITE sip:"])
    if payload_kind == "rtp":
        return _bytes([*head, 0x80])
    return _bytes(head[:4])


def read_bits(known: Known, offset: int, length: int) -> int | None:
    """The big-endian value of bits [offset, offset+length), None if any is unknown."""
    values, mask = known
    end = offset + length
    if offset < 0 or length <= 0 or end > len(values) * 8:
        return None
    first, last = offset // 8, (end + 7) // 8
    total = (last - first) * 8
    value = int.from_bytes(values[first:last], "big")
    have = int.from_bytes(mask[first:last], "big")
    shift = total - (offset - first * 8) - length
    want = ((1 << length) - 1) << shift
    if have & want != want:
        return None
    return (value & want) >> shift


# --- the matches that read the packet's contents ------------------------------------------

MASK32 = 0xFFFFFFFF
Known32 = tuple[int, int]  # (value, known bits)


def _read32(known: Known, at: int) -> Known32 | None:
    values, mask = known
    if at < 0 or at >= len(values):
        return None
    pad = bytes(max(0, at + 4 - len(values)))  # past the modelled bytes: unknown
    return (int.from_bytes(values[at:at + 4] + pad, "big"),
            int.from_bytes(mask[at:at + 4] + pad, "big"))


def u32_match(spec: str, known: Known) -> bool | None:
    """xt_u32 (net/netfilter/xt_u32.c) over the modelled bytes: every `&&` test must hold;
    a location is a start, then `&M`, `<<N`, `>>N`, `@N` (jump: at += value, read at+N)."""
    result: bool | None = True
    for test in spec.replace(" ", "").split("&&"):
        location, _, values = test.partition("=")
        ranges = []
        for item in values.split(","):
            lo, _, hi = item.partition(":")
            ranges.append((int(lo, 0), int(hi or lo, 0)))
        value = _u32_location(location, known)
        if value is None:
            result = None
            continue
        val, have = value
        low, high = val & have, (val | ~have) & MASK32
        if have == MASK32:
            if not any(lo <= val <= hi for lo, hi in ranges):
                return False
        elif not any(lo <= high and low <= hi and (lo != hi or (lo & have) == (val & have))
                     for lo, hi in ranges):
            return False
        else:
            result = None
    return result


def _u32_location(location: str, known: Known) -> Known32 | None:
    tokens: list[tuple[str, int]] = []
    number, op = "", ""
    i = 0
    while i < len(location):
        two = location[i:i + 2]
        if two in ("<<", ">>") or location[i] in "&@":
            tokens.append((op, int(number, 0)))
            op = two if two in ("<<", ">>") else location[i]
            number = ""
            i += len(op)
            continue
        number += location[i]
        i += 1
    tokens.append((op, int(number, 0)))
    first = _read32(known, tokens[0][1])
    if first is None:
        return None
    val, have = first
    at = 0
    for op, n in tokens[1:]:
        if op == "&":
            val, have = val & n, (have | ~n) & MASK32
        elif op == "<<":
            val, have = (val << n) & MASK32, ((have << n) | ((1 << n) - 1)) & MASK32
        elif op == ">>":
            val, have = val >> n, (have >> n) | (~(MASK32 >> n) & MASK32)
        else:  # @
            if have != MASK32:
                return None
            at += val
            read = _read32(known, at + n)
            if read is None:
                return None
            val, have = read
    return val, have


def length_match(lo: int, hi: int, payload_kind: str, family: int) -> bool | None:
    """xt_length: the IP packet's length. A SYN is its headers plus 4-40 bytes of TCP
    options; a datagram's length depends on what the provider sends."""
    if payload_kind != "syn":
        return None
    base = 40 if family == 4 else 60
    small, large = base + 4, base + 40
    if lo <= small and large <= hi:
        return True
    if large < lo or hi < small:
        return False
    return None


def physdev_match(options: list[tuple[bool, str]]) -> bool | None:
    """xt_physdev on the way in (xt_physdev.c): a packet to this host has no bridge output
    port, so `--physdev-is-bridged`, `--physdev-is-out` and `--physdev-out` never match and
    `! --physdev-is-bridged` alone always does; the bridge input port is not in the files."""
    for negated, opt in options:
        if not negated and opt in ("--physdev-is-bridged", "--physdev-is-out",
                                   "--physdev-out"):
            return False
    if all(negated and opt == "--physdev-is-bridged" for negated, opt in options):
        return True
    return None


def bpf_match(bytecode: str, known: Known) -> bool | None:
    """xt_bpf `--bytecode "N,op jt jf k,..."` (classic BPF over the packet from the network
    header, iptables-extensions(8) "bpf"): run on the modelled bytes; a load of an unknown
    byte, the packet length or an unsupported instruction leaves it undecided."""
    try:
        count, *lines = bytecode.strip().split(",")
        program = [tuple(int(x) for x in line.split()) for line in lines]
    except ValueError:
        return None
    if len(program) != int(count) or any(len(i) != 4 for i in program):
        return None
    values, mask = known
    acc = index = 0
    pc = 0
    for _ in range(4096):  # cBPF only jumps forward; bounded anyway
        if not 0 <= pc < len(program):
            return None
        code, jt, jf, k = program[pc]
        cls, size, mode, src = code & 0x07, code & 0x18, code & 0xE0, code & 0x08
        if cls in (0x00, 0x01) and mode in (0x20, 0x40):  # LD/LDX ABS or IND
            at = k + (index if mode == 0x40 else 0)
            width = {0x00: 4, 0x08: 2, 0x10: 1}.get(size, 0)
            if not width or at + width > len(values) or mask[at:at + width] != b"\xff" * width:
                return None
            value = int.from_bytes(values[at:at + width], "big")
            if cls == 0x00:
                acc = value
            else:
                index = value
        elif cls == 0x00 and mode == 0x00:  # LD IMM
            acc = k
        elif cls == 0x01 and mode == 0x00:  # LDX IMM
            index = k
        elif cls == 0x01 and mode == 0xA0:  # LDX MSH: 4 * (byte & 0xf)
            if k >= len(values) or mask[k] & 0x0F != 0x0F:
                return None
            index = 4 * (values[k] & 0x0F)
        elif cls == 0x04:  # ALU
            operand = index if src else k
            op = code & 0xF0
            acc = {0x00: acc + operand, 0x10: acc - operand, 0x20: acc * operand,
                   0x50: acc & operand, 0x40: acc | operand, 0x60: acc << operand,
                   0x70: acc >> operand}.get(op, -1) & MASK32 if op in (
                0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70) else -1
            if acc < 0:
                return None
        elif cls == 0x05:  # JMP
            op = code & 0xF0
            operand = index if src else k
            if op == 0x00:
                pc += 1 + k
                continue
            taken = {0x10: acc == operand, 0x20: acc > operand, 0x30: acc >= operand,
                     0x40: bool(acc & operand)}.get(op)
            if taken is None:
                return None
            pc += 1 + (jt if taken else jf)
            continue
        elif cls == 0x06:  # RET
            return bool(k if code & 0x18 == 0x00 else acc)
        elif cls == 0x07:  # MISC: TAX / TXA
            if code & 0xF8 == 0x00:
                index = acc
            else:
                acc = index
        else:
            return None
        pc += 1
    return None
