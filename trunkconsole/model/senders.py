"""Unknown senders: security events grouped by source address.

A request that no identify matches gets Asterisk's artificial endpoint: it raises
InvalidAccountID (AccountID = the From user), then ChallengeSent with AccountID
`<unknown>`, and answers 401 (res/res_pjsip/pjsip_distributor.c; reference §3.1). One
request raises both, so requests are counted once per SIP Call-ID (SessionID).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from trunkconsole.ami.message import AmiMessage
from trunkconsole.model.normalise import remote_address
from trunkconsole.model.records import SENDER_ACCOUNTS, Identify, ResolvedSender, UnknownSender
from trunkconsole.pjsip.matches import parse_match

UNKNOWN_ACCOUNT = "<unknown>"
# Events that mean "this source is not a known endpoint". ChallengeSent and
# ChallengeResponseFailed also fire for known phones, so those count only with
# AccountID <unknown> (the artificial endpoint).
ALWAYS_UNKNOWN = frozenset({"InvalidAccountID", "FailedACL"})
UNKNOWN_WHEN_ANONYMOUS = frozenset({"ChallengeSent", "ChallengeResponseFailed"})
SECURITY_EVENTS = ALWAYS_UNKNOWN | UNKNOWN_WHEN_ANONYMOUS
MAX_SENDERS = 1000
MAX_RESOLVED = 100


class SenderLog:
    """Unknown senders by address, bounded (the least recently seen are forgotten)."""

    def __init__(self, limit: int = MAX_SENDERS) -> None:
        self.by_address: dict[str, UnknownSender] = {}
        # Senders an identify matches now, by address, most recently resolved last.
        self.resolved: dict[str, ResolvedSender] = {}
        self.limit = limit

    def record(self, message: AmiMessage, now: float) -> str | None:
        """Account for one security event; return the address it changed, if any."""
        fields = message.fields
        event = fields.get("event", "")
        if fields.get("service") != "PJSIP":
            return None  # AMI's own login failures have Service: AMI
        account = fields.get("accountid", "")
        if event not in ALWAYS_UNKNOWN and account != UNKNOWN_ACCOUNT:
            return None
        address, transport, port = remote_address(fields.get("remoteaddress", ""))
        if not address:
            return None
        sender = self.by_address.get(address)
        if sender is None:
            if len(self.by_address) >= self.limit:
                oldest = min(self.by_address.values(), key=lambda s: s.last_seen)
                del self.by_address[oldest.address]
            sender = UnknownSender(address=address, first_seen=now)
            self.by_address[address] = sender
            # Refused again after an identify matched it: unknown once more (Asterisk is
            # the judge, e.g. the identify was removed or another endpoint's won).
            self.resolved.pop(address, None)
        sender.transport = transport
        sender.port = port
        sender.last_seen = now
        sender.last_event = event
        session = fields.get("sessionid", "")
        if not session or session not in sender.sessions:
            sender.count += 1
            if session:
                sender.sessions.append(session)
        if account and account != UNKNOWN_ACCOUNT:
            if account in sender.accounts:
                sender.accounts.remove(account)
            sender.accounts.append(account)
            del sender.accounts[:-SENDER_ACCOUNTS]
        return address

    def resolve(self, identify: Identify, now: float) -> list[str]:
        """Senders this identify matches are no longer unknown; the addresses resolved.

        A request from an address an identify matches reaches that endpoint
        (res_pjsip_endpoint_identifier_ip.c), so Asterisk stops answering it with 401: the
        sender is known from the moment Asterisk shows the identify (IdentifyDetail).
        """
        if not self.by_address:
            return []
        done = [address for address in self.by_address
                if identified(address, (identify,))]
        for address in done:
            sender = self.by_address.pop(address)
            self.resolved[address] = ResolvedSender(
                sender=sender, at=now, identify=identify.name, endpoint=identify.endpoint)
        while len(self.resolved) > MAX_RESOLVED:
            del self.resolved[next(iter(self.resolved))]
        return done

    def clear(self) -> None:
        self.by_address.clear()
        self.resolved.clear()


def identified(address: str, identifies: Iterable[Identify]) -> bool:
    """True when a packet from address matches any of these identifies (any port)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parse_match(entry).contains(ip) for identify in identifies
               for entry in identify.matches)
