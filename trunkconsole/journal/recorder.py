"""From AMI messages (after the model applied them) to journal rows.

Contact status changes become events at once; RTT is sampled at most once a minute per
contact (the poller reads it every 10 s: ContactStatus fires only on a *change*,
pjsip_options.c); every Hangup of an endpoint's channel becomes a call row (and a
call_quality row when Asterisk sent or received RTCP for it, read class `reporting`); unknown
senders are counted per address and written as deltas once a minute (addresses are
bounded by the model's SenderLog).

After every complete resync (login, reconnect, a res_pjsip Reload) the journal is reconciled
with the listing: a contact whose status differs from the last one written gets its event
then, and a contact the journal knows that the listing no longer has gets `contact-removed`
(an expired registration, a contact dropped while AMI was away). A reload that changes an
AOR's contact= is announced: Asterisk 22.10 sends `ContactStatus: Removed` for the old static
contact (seen in the lab), which is journaled the same way. Without the removal a contact that
no longer exists counted as Reachable in the history for ever and hid the next outage of
the trunk's real contact.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from trunkconsole.ami.message import AmiMessage
from trunkconsole.calls.quality import CallSummary, summarise
from trunkconsole.journal.writer import JournalWriter
from trunkconsole.model.causes import cause_class
from trunkconsole.model.records import Contact
from trunkconsole.model.senders import SECURITY_EVENTS
from trunkconsole.model.state import PbxState

SAMPLE_EVERY = 60.0
SENDERS_EVERY = 30.0
RESTART_UPTIME = 120  # a FullyBooted this young means Asterisk (re)started
CONTACT_EVENTS = frozenset({"ContactStatus", "ContactStatusDetail", "ContactList"})


class Recorder:
    """Watches the model through the messages that change it."""

    def __init__(self, state: PbxState, writer: JournalWriter,
                 clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.writer = writer
        self.clock = clock
        self._status: dict[str, str] = {}  # contact key -> last status written
        # contact key -> (trunk, uri) of every contact whose state the journal holds and
        # whose removal it has not recorded (kept across AMI reconnects, unlike _status)
        self._journaled: dict[str, tuple[str, str]] = {}
        self._sampled: dict[str, float] = {}
        self._registration: dict[str, str] = {}
        self._sender_counts: dict[str, int] = {}
        self._sender_flush = clock()
        self._last_connection = ""
        self.calls_seen = 0
        self._inbound: set[str] = set()
        self.on_quality: Callable[[str, CallSummary], None] | None = None  # metrics
        self.on_call: Callable[[str, str], None] | None = None  # metrics: trunk, cause class

    def before(self, message: AmiMessage) -> None:
        """Call before state.apply(message): the channel is gone after a Hangup."""
        if message.fields.get("event") == "Hangup":
            channel = self.state.channels.get(message.fields.get("uniqueid", ""))
            if channel is not None and channel.inbound:
                self._inbound.add(channel.uniqueid)

    def message(self, message: AmiMessage) -> None:
        """Call after state.apply(message)."""
        event = message.fields.get("event", "")
        if event in CONTACT_EVENTS:
            self._contact(message)
        elif event == "Hangup":
            self._hangup(message)
        elif event in ("Registry", "OutboundRegistrationDetail"):
            self._registrations()
        elif event == "FullyBooted":
            # Sent at every AMI login too; Uptime tells a restart from our own login.
            uptime = message.fields.get("uptime", "")
            if uptime.isdigit() and int(uptime) <= RESTART_UPTIME:
                self.writer.event(self.clock() - int(uptime), "asterisk-started",
                                  f"Asterisk started (up {uptime} s when AMI saw it)")
        elif event == "Shutdown":
            self.writer.event(self.clock(), "asterisk-shutdown", "Asterisk shutting down ("
                              f"{message.fields.get('shutdown', '')})")
        elif event in SECURITY_EVENTS:
            pass  # counted from the model's SenderLog in tick()

    def tick(self) -> None:
        """Periodic work (call about once a second)."""
        now = self.clock()
        if now - self._sender_flush >= SENDERS_EVERY:
            self.flush_senders(now)

    def flush_senders(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self._sender_flush = now
        log = self.state.senders
        # Senders an identify now matches left by_address: their last requests count too,
        # and we know the trunk they belong to.
        current = [(a, s, "") for a, s in log.by_address.items()]
        current += [(a, r.sender, r.endpoint) for a, r in log.resolved.items()]
        for address, sender, trunk in current:
            before = self._sender_counts.get(address, 0)
            if sender.count < before:
                before = 0  # forgotten and seen again
            if sender.count > before:
                account = sender.accounts[-1] if sender.accounts else ""
                self.writer.add("senders", (sender.last_seen, sender.first_seen, address,
                                            sender.count - before, account, sender.last_event,
                                            trunk))
            self._sender_counts[address] = sender.count

    def connection(self, state: str, reason: str) -> None:
        """AMI connected / lost. A retry that fails the same way again is not news: with
        Asterisk down the session retries every 2 s, which was 1,800 events an hour."""
        if state != "connected":
            self._status.clear()  # unknown until the next listing says again
        text = f"AMI {state}" + (f": {reason}" if reason else "")
        if text == self._last_connection:
            return
        self._last_connection = text
        self.writer.event(self.clock(), "ami-" + state.lower(), text)

    def change_applied(self, at: float, record: dict[str, object]) -> None:
        title = str(record.get("change", "change"))
        user = str(record.get("user", ""))
        result = str(record.get("result", ""))
        self.writer.event(at, "change-applied", f"{title} by {user}" if user else title,
                          subject=title, detail=json.dumps(
                              {"user": user, "result": result,
                               "files": record.get("files", []),
                               "backup": record.get("backup", "")}))

    def finding(self, at: float, raised: bool, code: str, subject: str, title: str,
                severity: str, trunk: str, address: str = "") -> None:
        kind = "finding-raised" if raised else "finding-cleared"
        text = (f"{severity}: {title}" if raised else f"cleared: {title}")
        self.writer.event(at, kind, text, trunk=trunk, subject=code,
                          detail=json.dumps({"code": code, "subject": subject,
                                             "severity": severity, "address": address}))

    # -- internals -------------------------------------------------------------------
    def _owner(self, aor: str, hint: str) -> str:
        if hint:
            return hint
        for endpoint in self.state.endpoints.values():
            if aor in endpoint.aors:
                return endpoint.name
        return aor

    def reconcile(self) -> None:
        """After a complete resync: the listing is the truth (see the module docstring)."""
        now = self.clock()
        for key, contact in list(self.state.contacts.items()):
            self._journal_status(key, contact, now, after_resync=True)
        for key in [k for k in self._journaled if k not in self.state.contacts]:
            self._removed(key, now, "no longer listed by Asterisk after the AMI resync")

    def _contact(self, message: AmiMessage) -> None:
        f = message.fields
        aor = f.get("aor", "") or f.get("objectname", "").partition(";@")[0]
        uri = f.get("uri", "")
        key = f"{aor}/{uri}"
        contact = self.state.contacts.get(key)
        now = self.clock()
        if contact is None:
            if f.get("contactstatus") == "Removed" and key in self._journaled:
                self._removed(key, now, "ContactStatus Removed")
            return
        self._journal_status(key, contact, now)

    def _removed(self, key: str, now: float, why: str) -> None:
        trunk, uri = self._journaled.pop(key)
        previous = self._status.pop(key, "")
        self._sampled.pop(key, None)
        self.writer.event(now, "contact-removed", f"{trunk} contact {uri} removed ({why})",
                          trunk=trunk, subject=uri,
                          detail=json.dumps({"previous": previous, "why": why}))

    def _journal_status(self, key: str, contact: Contact, now: float,
                        after_resync: bool = False) -> None:
        uri = contact.uri
        trunk = self._owner(contact.aor, contact.endpoint)
        owner = self.state.endpoints.get(trunk)
        if owner is not None and not owner.trunk_candidate:
            # A phone (inbound auth, no outbound auth): qualified phones would fill the
            # journal with a sample a minute each and show up as trunks in the history.
            # trunk_candidate, not is_trunk: identifies are re-read during every
            # PJSIPShowEndpoint, so a trunk is briefly not is_trunk inside its own detail.
            return
        status = contact.status
        previous = self._status.get(key)
        if status in ("Reachable", "Unreachable") and status != previous:
            self._status[key] = status
            self._journaled[key] = (trunk, uri)
            rtt = contact.rtt_ms
            if status == "Unreachable":
                text = f"{trunk} unreachable (qualify timeout, contact {uri})"
            else:
                text = f"{trunk} reachable" + (f" (RTT {rtt:.0f} ms)" if rtt else "")
            detail: dict[str, object] = {"previous": previous or "", "rtt_ms": rtt}
            if after_resync:
                detail["seen"] = "listing after AMI resync"
            self.writer.event(now, "contact-" + status.lower(), text, trunk=trunk,
                              subject=uri, detail=json.dumps(detail))
            self._sample(key, trunk, uri, status, rtt, now)
        elif (not after_resync and status in ("Reachable", "Unreachable")
              and now - self._sampled.get(key, 0.0) >= SAMPLE_EVERY):
            self._sample(key, trunk, uri, status, contact.rtt_ms, now)

    def _sample(self, key: str, trunk: str, uri: str, status: str, rtt: float | None,
                now: float) -> None:
        self._sampled[key] = now
        self.writer.add("samples", (now, trunk, uri, 1 if status == "Reachable" else 0,
                                    rtt if status == "Reachable" else None))

    def _hangup(self, message: AmiMessage) -> None:
        if not self.state.hangups:
            return
        hangup = self.state.hangups[-1]
        if hangup.uniqueid != message.fields.get("uniqueid", "") or not hangup.endpoint:
            return
        inbound = 1 if hangup.uniqueid in self._inbound else 0
        self._inbound.discard(hangup.uniqueid)
        endpoint = self.state.endpoints.get(hangup.endpoint)
        if endpoint is None or not endpoint.is_trunk:
            # A phone's leg of the call (its trunk leg is a channel of its own): phones are
            # not trunks, and their names as labels would grow with the PBX.
            return
        self.calls_seen += 1
        klass = cause_class(hangup.cause, hangup.tech_cause)
        if self.on_call is not None:
            self.on_call(hangup.endpoint, klass)
        self.writer.add("calls", (hangup.at, hangup.endpoint, hangup.uniqueid, inbound,
                                  hangup.cause, hangup.cause_txt, hangup.tech_cause, klass,
                                  hangup.duration, hangup.did))
        self.writer.add("call_counts", (hangup.at - hangup.at % 60, hangup.endpoint, klass, 1))
        quality = self.state.quality.get(hangup.uniqueid)  # kept among the ended calls
        if quality is not None and (quality.sent_reports or quality.received_reports):
            q = summarise(quality)
            self.writer.add("call_quality", (
                hangup.at, hangup.endpoint, hangup.uniqueid, hangup.channel, inbound,
                hangup.did or hangup.caller_num, q.codec, q.rx_loss, q.tx_loss,
                q.rx_jitter_ms, q.tx_jitter_ms, q.rtt_ms, q.mos, q.worst_mos, q.worst_at,
                q.worst_rx_loss, q.worst_tx_loss, q.rtcp_sent, q.rtcp_received))
            if self.on_quality is not None:
                self.on_quality(hangup.endpoint, q)

    def _registrations(self) -> None:
        now = self.clock()
        for name, registration in self.state.registrations.items():
            previous = self._registration.get(name)
            if registration.status != previous:
                self._registration[name] = registration.status
                if previous is None and registration.status == "Registered":
                    continue  # the first listing is not news
                self.writer.event(now, "registration", f"registration {name}: "
                                  f"{previous or 'unknown'} -> {registration.status}",
                                  trunk=registration.endpoint, subject=name)
