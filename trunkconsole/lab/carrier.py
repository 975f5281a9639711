"""The carrier: sipp in the lab's carrier namespace.

The UAS on 203.0.113.10:5060 answers the PBX's outbound calls (200 OK, or 403 Forbidden
for "caller ID rejected") and, with sipp's -aa, answers the PBX's qualify OPTIONS.
`lab call` runs a UAC that places inbound calls to a DID from a chosen carrier address.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.lab.addresses import CARRIER_ADDRESS, PBX_ADDRESS, SPARE_ADDRESSES
from trunkconsole.lab.system import spawn
from trunkconsole.lab.uac_variants import InviteVariant, render
from trunkconsole.resources import sample_configs_dir

MEDIA_PCAP = "/usr/share/sip-tester/g711a.pcap"  # shipped by Debian's sip-tester
UAS_SCENARIOS = {"answer": "uas_answer.xml", "reject": "uas_reject.xml",
                 "callerid": "uas_callerid.xml"}
ASSIGNED_CALLER_ID = "15551230000"  # the only caller ID the "callerid" carrier accepts
CARRIER_ADDRESSES = (CARRIER_ADDRESS, *SPARE_ADDRESSES)
# What sipp may carry into a SIP header: printable, no CR/LF, no quote (it is quoted).
_SAFE_FIELD = re.compile(r'^[^\r\n"\x00-\x1f\x7f]{0,64}$')
_DID = re.compile(r"^[0-9+*#]{1,32}\Z")
# What a hostile carrier puts in a caller ID name (issue 11): a window title (OSC 0), a
# clipboard write (OSC 52) and a clear screen. Sent by uac_hostile.xml as quoted-pairs.
HOSTILE_CALLER_NAME = "\x1b]0;tc-pwned\x07\x1b]52;c;dGMtcHduZWQ=\x07\x1b[2J"
# uac_hostile.xml's From user `1555%1B%5B2J%C2%9B%E2%80%AE`, as pjsip unescapes it.
HOSTILE_FROM_USER = "1555\x1b[2J\x9b\u202e"


def quoted_pairs(text: str) -> str:
    """Text for inside a SIP quoted-string: every control, quote and backslash as a
    quoted-pair (RFC 3261 25.1: quoted-pair = "\\" any byte but CR and LF)."""
    if "\r" in text or "\n" in text:
        raise OperatorError("CR and LF cannot be sent even as a quoted-pair")
    return "".join("\\" + c if ord(c) < 0x20 or c in '"\\\x7f' else c for c in text)


def scenario(name: str) -> Path:
    """Path of a shipped sipp scenario."""
    return sample_configs_dir() / "lab" / "sipp" / name


def start_uas(netns: str, mode: str, log_dir: Path, address: str = CARRIER_ADDRESS) -> int:
    """Start the carrier UAS ("answer" or "reject") on address:5060; return its pid."""
    if mode not in UAS_SCENARIOS:
        raise OperatorError(f"unknown carrier mode '{mode}'", fix="use answer or reject")
    return spawn(
        ["ip", "netns", "exec", netns, "sipp", "-sf", str(scenario(UAS_SCENARIOS[mode])),
         "-i", address, "-p", "5060", "-aa", "-nostdin", "-nd",
         "-trace_err", "-error_file", str(log_dir / f"sipp-uas-{mode}.errors")],
        log_dir / f"sipp-uas-{mode}.out")


def check_dialable(number: str) -> str:
    """Refuse anything but digits, +, * and #: the value goes into SIP and AMI."""
    if not _DID.match(number):
        raise OperatorError(f"{number!r} is not a dialable number")
    return number


@dataclass
class CallReport:
    """What the carrier saw of the calls it placed."""

    placed: int
    answered: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0

    @property
    def unanswered(self) -> int:
        return self.placed - self.answered - sum(self.rejected.values())

    def summary(self) -> str:
        parts = [f"{self.placed} placed", f"{self.answered} answered"]
        parts += [f"{n} rejected with {code}" for code, n in sorted(self.rejected.items())]
        if self.unanswered:
            parts.append(f"{self.unanswered} without a final answer")
        return ", ".join(parts)


@dataclass(frozen=True)
class CallSpec:
    """An inbound call burst from the carrier to the PBX."""

    did: str
    source: str = CARRIER_ADDRESS
    count: int = 1
    rate: float = 1.0  # calls per second
    duration: float = 2.0  # seconds from answer to BYE
    caller_name: str = "Carrier Test"
    from_user: str = "15557770000"
    media: bool = False  # send RTP (PCMA from sipp's g711a.pcap) after the answer
    echo: bool = False  # echo the PBX's RTP back (sipp -rtp_echo): media both ways, all call
    variant: InviteVariant = field(default_factory=InviteVariant)  # header/SDP that differ
    hostile: bool = False  # uac_hostile.xml: control sequences in the caller ID (tests)

    def validate(self) -> None:
        if self.source not in CARRIER_ADDRESSES:
            raise OperatorError(
                f"{self.source} is not a carrier address of the lab",
                fix=f"use one of {CARRIER_ADDRESS} or {SPARE_ADDRESSES[0]}..{SPARE_ADDRESSES[-1]}",
            )
        check_dialable(self.did)
        for label, value in (("caller name", self.caller_name), ("From user", self.from_user)):
            if not _SAFE_FIELD.match(value) and not self.hostile:
                raise OperatorError(f"{label} {value!r} cannot go into a SIP header",
                                    evidence="CR, LF, quotes and control characters are refused")
        if not (1 <= self.count <= 100_000 and 0 < self.rate <= 1000
                and 0 <= self.duration <= 3600):
            raise OperatorError("call count, rate or duration out of range")


def _uac_command(netns: str, spec: CallSpec, log_dir: Path, tag: str) -> list[str]:
    spec.validate()
    if spec.media and not Path(MEDIA_PCAP).is_file():
        raise OperatorError(f"{MEDIA_PCAP} is missing", fix="apt-get install sip-tester")
    log_file = log_dir / f"sipp-{tag}.log"
    log_file.unlink(missing_ok=True)
    name = quoted_pairs(HOSTILE_CALLER_NAME) if spec.hostile else spec.caller_name
    return [
        "ip", "netns", "exec", netns, "sipp", f"{PBX_ADDRESS}:5060",
        "-sf", str(_scenario_file(spec, log_dir, tag)),
        "-i", spec.source, "-p", "0", "-mi", spec.source,
        "-s", spec.did, "-m", str(spec.count), *_rate_args(spec.rate),
        "-l", str(max(1, min(spec.count, int(spec.rate * (spec.duration + 5)) + 10))),
        "-d", str(int(spec.duration * 1000)),
        "-key", "caller_name", name, "-key", "from_user", spec.from_user,
        "-recv_timeout", "15000", "-nostdin", "-nd",
        *(["-rtp_echo"] if spec.echo else []),
        "-trace_logs", "-log_file", str(log_file),
        "-trace_err", "-error_file", str(log_dir / f"sipp-{tag}.errors"),
    ]


def _scenario_file(spec: CallSpec, log_dir: Path, tag: str) -> Path:
    if spec.variant.plain:
        return scenario("uac_hostile.xml" if spec.hostile else
                        "uac_media.xml" if spec.media else "uac.xml")
    if spec.media or spec.hostile:
        raise OperatorError("a call with a variant INVITE cannot also play media or be "
                            "the hostile one")
    return render(scenario("uac.xml"), spec.variant, log_dir / f"sipp-{tag}-variant.xml")


def _rate_args(rate: float) -> list[str]:
    """sipp's -r takes whole calls per -rp milliseconds: 0.1/s is one call per 10 s."""
    if rate >= 1:
        return ["-r", str(int(rate)), "-rp", "1000"]
    return ["-r", "1", "-rp", str(int(1000 / rate))]


def start_calls(netns: str, spec: CallSpec, log_dir: Path) -> int:
    """Place calls in the background (a held call for a scenario); returns the sipp pid."""
    return spawn(_uac_command(netns, spec, log_dir, "uac-background"),
                 log_dir / "sipp-uac-background.out")


def place_calls(netns: str, spec: CallSpec, log_dir: Path, timeout: float = 600) -> CallReport:
    """Run the UAC until every call ended; count answered and rejected calls."""
    cmd = _uac_command(netns, spec, log_dir, "uac")
    log_file = log_dir / "sipp-uac.log"
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise OperatorError("lab call: sipp did not finish in time") from exc
    if proc.returncode not in (0, 1):
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise OperatorError(f"lab call: sipp failed (exit {proc.returncode})", evidence=tail)
    report = CallReport(placed=spec.count, exit_code=proc.returncode)
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    for line in text.splitlines():
        if "ANSWERED" in line:
            report.answered += 1
        elif match := re.search(r"REJECTED (\d{3})", line):
            report.rejected[match.group(1)] = report.rejected.get(match.group(1), 0) + 1
    return report
