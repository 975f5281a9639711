"""The things PbxState holds: endpoints, contacts, registrations, channels, senders.

Plain slotted dataclasses, no Textual: the TUI and `trunkconsole status` read them.
Every string that came from AMI is untrusted text (caller IDs, URIs, user agents).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

RTT_HISTORY = 60  # readings kept per contact for the sparkline
SENDER_SESSIONS = 64  # recent SIP Call-IDs kept per unknown sender to count requests once
SENDER_ACCOUNTS = 8  # distinct From users kept per unknown sender


@dataclass(slots=True)
class Identify:
    """A type=identify section as PJSIPShowEndpoint's IdentifyDetail shows it."""

    name: str
    endpoint: str
    matches: tuple[str, ...]  # CIDR, e.g. 203.0.113.10/32 (AMI prints dotted masks)
    match_header: str = ""
    match_request_uri: str = ""


@dataclass(slots=True)
class Contact:
    """One contact of an AOR: static (aor contact=) or registered."""

    aor: str
    uri: str
    status: str = "Unknown"  # Reachable | Unreachable | NonQualified | Unknown
    rtt_usec: int | None = None
    rtt_history: deque[float] = field(default_factory=lambda: deque(maxlen=RTT_HISTORY))
    endpoint: str = ""
    user_agent: str = ""
    via: str = ""
    reg_expire: int = 0  # Unix seconds; 0 for static contacts
    gen: int = 0

    @property
    def key(self) -> str:
        return f"{self.aor}/{self.uri}"

    @property
    def static(self) -> bool:
        return self.reg_expire == 0

    @property
    def rtt_ms(self) -> float | None:
        return None if self.rtt_usec is None else self.rtt_usec / 1000.0


@dataclass(slots=True)
class Hangup:
    """A channel that ended, with the reason Asterisk gave."""

    at: float
    uniqueid: str
    channel: str
    endpoint: str
    cause: int
    cause_txt: str
    tech_cause: int | None  # the SIP code, Asterisk >= 20.17 / 22.7, off-nominal only
    caller_num: str
    caller_name: str
    did: str
    duration: float

    def describe(self) -> str:
        """'21 Call Rejected (SIP 403)' style.

        Cause 0 is what Asterisk 22.10 reports when the far end simply hung up (BYE): say
        so, rather than "0 Unknown", which reads like a fault.
        """
        if self.cause == 0 and not self.tech_cause:
            return "hung up (no cause)"
        text = f"{self.cause} {self.cause_txt}".strip()
        return f"{text} (SIP {self.tech_cause})" if self.tech_cause else text


@dataclass(slots=True)
class Endpoint:
    """A PJSIP endpoint: trunk or phone."""

    name: str
    transport: str = ""
    aors: tuple[str, ...] = ()
    auths: tuple[str, ...] = ()
    outbound_auths: tuple[str, ...] = ()
    context: str = ""
    device_state: str = "Unknown"
    peer_status: str = ""
    identifies: dict[str, Identify] = field(default_factory=dict)
    registrations: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)  # uniqueids
    calls_started: deque[float] = field(default_factory=deque)  # last hour, oldest first
    last_hangup: Hangup | None = None
    has_contacts: bool = False
    detail_loaded: bool = False
    gen: int = 0

    @property
    def is_trunk(self) -> bool:
        """IP-identified and/or registering outbound, or a contact peer without inbound auth.

        Phones authenticate inbound (auth=); a trunk is matched by IP (identify), registers
        to the provider (registration), or is an outbound-only peer with a static contact.
        """
        return bool(self.identifies or self.registrations) or (
            not self.auths and (bool(self.outbound_auths) or self.has_contacts)
        )

    @property
    def trunk_candidate(self) -> bool:
        """Worth a PJSIPShowEndpoint to learn its identifies: no inbound auth, or outbound."""
        return not self.auths or bool(self.outbound_auths) or self.is_trunk

    @property
    def matches(self) -> tuple[str, ...]:
        out: list[str] = []
        for identify in self.identifies.values():
            out.extend(identify.matches)
        return tuple(out)

    def calls_last_hour(self, now: float) -> int:
        started = self.calls_started
        while started and started[0] < now - 3600:
            started.popleft()
        return len(started)


@dataclass(slots=True)
class Registration:
    """An outbound registration (type=registration)."""

    name: str
    server_uri: str = ""
    client_uri: str = ""
    endpoint: str = ""
    status: str = "Unknown"  # Registered | Unregistered | Rejected
    next_reg: int = 0
    changed_at: float = 0.0
    gen: int = 0


@dataclass(slots=True)
class Channel:
    """A live channel; caller ID fields are attacker-controlled text."""

    uniqueid: str
    name: str
    endpoint: str
    state: str = ""
    state_code: int = 0
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    context: str = ""
    exten: str = ""
    did: str = ""
    linkedid: str = ""
    application: str = ""
    bridge_id: str = ""
    inbound: bool = False
    direction_basis: str = ""  # how `inbound` was known (normalise.direction)
    started_at: float = 0.0
    tech_cause: int | None = None
    gen: int = 0

    def duration(self, now: float) -> float:
        return max(0.0, now - self.started_at)

    @property
    def order(self) -> tuple[float, int]:
        """Creation order: start second, then Uniqueid's sequence number."""
        sequence = self.uniqueid.rpartition(".")[2]
        return self.started_at, int(sequence) if sequence.isdigit() else 0


@dataclass(slots=True)
class UnknownSender:
    """A source address Asterisk could not match to an endpoint (InvalidAccountID et al.).

    This is how "the provider changed its IP" shows: Asterisk answers 401 and stays silent.
    """

    address: str
    transport: str = ""
    port: str = ""
    count: int = 0  # requests, counted once per SIP Call-ID
    first_seen: float = 0.0
    last_seen: float = 0.0
    last_event: str = ""
    accounts: list[str] = field(default_factory=list)  # From users, most recent last
    sessions: deque[str] = field(default_factory=lambda: deque(maxlen=SENDER_SESSIONS))

    @property
    def account(self) -> str:
        return self.accounts[-1] if self.accounts else ""


@dataclass(slots=True)
class ResolvedSender:
    """An unknown sender that an identify now matches: no longer unknown, kept to say so."""

    sender: UnknownSender
    at: float  # when the matching identify was first seen
    identify: str  # the identify section that matches it
    endpoint: str  # the endpoint (trunk) it now reaches

    @property
    def address(self) -> str:
        return self.sender.address

    def describe(self) -> str:
        return f"matched by identify {self.identify} of trunk {self.endpoint}"
