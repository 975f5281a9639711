"""PbxState: the live PBX as AMI tells it, event-fed and pure (no I/O, no Textual).

`apply(message)` takes every AMI message in wire order (events and the items of list
replies alike) and returns the keys it changed; the front end pulls `take_changes()` on
its own timer. A resync is `begin_sync(kind)`, the list action's items, `end_sync(kind)`:
whatever the listing did not mention (and no event touched since) is dropped, so nothing
stale survives an Asterisk restart.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Set
from typing import Final

from trunkconsole.ami.message import AmiMessage
from trunkconsole.calls.quality import QualityBook
from trunkconsole.model import normalise as norm
from trunkconsole.model.channels import HANGUP_RING, ChannelEvents
from trunkconsole.model.keys import (
    _NOTHING,
    CONTACT,
    CORE,
    ENDPOINT,
    REGISTRATION,
    SENDER,
    Fields,
    Key,
)
from trunkconsole.model.records import (
    Channel,
    Contact,
    Endpoint,
    Hangup,
    Identify,
    Registration,
)
from trunkconsole.model.registrations import RegistrationEvents
from trunkconsole.model.senders import SECURITY_EVENTS, SenderLog

SYNC_KINDS = ("endpoints", "channels", "registrations", "contacts")
# Not a listing of its own: identifies come with each trunk's PJSIPShowEndpoint; complete
# once every trunk candidate of a resync was read.
IDENTIFIES: Final = "identifies"
Handler = Callable[[Fields, AmiMessage], Set[Key]]


class PbxState(ChannelEvents, RegistrationEvents):
    """Endpoints, contacts, registrations, channels, recent hangups, unknown senders.

    The channel events (calls, hangups, RTCP) are handled in model/channels.py, the
    outbound registrations' in model/registrations.py."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.endpoints: dict[str, Endpoint] = {}
        self.contacts: dict[str, Contact] = {}  # "aor/uri" -> Contact
        self.aor_contacts: dict[str, set[str]] = {}
        self.registrations: dict[str, Registration] = {}
        self.channels: dict[str, Channel] = {}  # uniqueid -> Channel
        self.hangups: deque[Hangup] = deque(maxlen=HANGUP_RING)
        self.senders = SenderLog()
        self.quality = QualityBook()  # RTCP per channel (read=reporting)
        self.booted = False
        self.dirty: set[Key] = set()
        self._gen = dict.fromkeys(SYNC_KINDS, 0)
        # Kinds read completely at least once. Listings stream into the model item by
        # item, so before that a kind is half-read: absence proves nothing yet.
        self.listed: set[str] = set()
        self._registrations_of: dict[str, set[str]] = {}  # endpoint -> registration names
        self._detail: str = ""
        self._detail_seen: set[str] = set()
        self._handlers: dict[str, Handler] = {
            "EndpointList": self._endpoint_list,
            "EndpointDetail": self._endpoint_detail,
            "IdentifyDetail": self._identify_detail,
            "ContactStatusDetail": self._contact_detail,
            "EndpointDetailComplete": self._endpoint_detail_complete,
            "ContactList": self._contact_list,
            "ContactStatus": self._contact_status,
            "PeerStatus": self._peer_status,
            "DeviceStateChange": self._device_state,
            "OutboundRegistrationDetail": self._registration_detail,
            "Registry": self._registry,
            "Newchannel": self._channel_snapshot,
            "Newstate": self._channel_snapshot,
            "NewCallerid": self._channel_snapshot,
            "NewConnectedLine": self._channel_snapshot,
            "CoreShowChannel": self._channel_snapshot,
            "Newexten": self._newexten,
            "HangupRequest": self._hangup_request,
            "SoftHangupRequest": self._hangup_request,
            "Hangup": self._hangup,
            "RTCPSent": self._rtcp,
            "RTCPReceived": self._rtcp,
            "FullyBooted": self._core,
            "Shutdown": self._core,
        }
        for name in SECURITY_EVENTS:
            self._handlers[name] = self._security

    # -- feeding -----------------------------------------------------------------------
    def apply(self, message: AmiMessage) -> Set[Key]:
        """Apply one AMI message; the keys it changed (empty for anything irrelevant)."""
        handler = self._handlers.get(message.fields.get("event", ""))
        if handler is None:
            return _NOTHING
        changed = handler(message.fields, message)
        if changed:
            self.dirty.update(changed)
        return changed

    def take_changes(self) -> set[Key]:
        """Keys changed since the last call (the front end's pull)."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def listing_complete(self, kind: str) -> bool:
        """True once `kind` (a SYNC_KINDS listing or IDENTIFIES) was read in full."""
        return kind in self.listed

    def mark_listed(self, kind: str) -> None:
        """A kind without its own listing (IDENTIFIES) is now completely read."""
        self.listed.add(kind)

    def begin_sync(self, kind: str) -> None:
        """A listing of `kind` is about to be requested."""
        self._gen[kind] += 1

    def end_sync(self, kind: str) -> Set[Key]:
        """The listing is complete: drop what neither it nor a later event mentioned."""
        gen = self._gen[kind]
        changed: set[Key] = set()
        if kind == "endpoints":
            for name in [n for n, e in self.endpoints.items() if e.gen < gen]:
                del self.endpoints[name]
                changed.add((ENDPOINT, name))
            referenced = {aor for e in self.endpoints.values() for aor in e.aors}
            for aor in [a for a in self.aor_contacts if a not in referenced]:
                for key in self.aor_contacts.pop(aor):
                    self.contacts.pop(key, None)
                    changed.add((CONTACT, key))
        elif kind == "channels":
            for uid in [u for u, c in self.channels.items() if c.gen < gen]:
                changed |= self._drop_channel(uid)
        elif kind == "registrations":
            for name in [n for n, r in self.registrations.items() if r.gen < gen]:
                registration = self.registrations.pop(name)
                self._registrations_of.get(registration.endpoint, set()).discard(name)
                owner = self.endpoints.get(registration.endpoint)
                if owner is not None:
                    owner.registrations.discard(name)
                    changed.add((ENDPOINT, owner.name))
                changed.add((REGISTRATION, name))
        elif kind == "contacts":
            for key in [k for k, c in self.contacts.items() if c.gen < gen and not c.static]:
                changed |= self._drop_contact(key)
        self.listed.add(kind)
        self.dirty |= changed
        return changed

    # -- queries -----------------------------------------------------------------------
    def trunks(self) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.is_trunk]

    def contacts_of(self, endpoint: Endpoint) -> list[Contact]:
        out: list[Contact] = []
        for aor in endpoint.aors:
            out.extend(self.contacts[k] for k in sorted(self.aor_contacts.get(aor, ())))
        return out

    def channels_of(self, endpoint: Endpoint) -> list[Channel]:
        return [self.channels[u] for u in endpoint.channels if u in self.channels]

    def hangups_of(self, name: str) -> list[Hangup]:
        return [h for h in self.hangups if h.endpoint == name]

    # -- endpoints ---------------------------------------------------------------------
    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            endpoint = self.endpoints[name] = Endpoint(name=name)
            # Registrations may be listed before their endpoint (trunks first).
            endpoint.registrations.update(self._registrations_of.get(name, ()))
        endpoint.gen = self._gen["endpoints"]
        return endpoint

    def _endpoint_list(self, f: Fields, message: AmiMessage) -> Set[Key]:
        name = f.get("objectname", "")
        if not name:
            return _NOTHING
        endpoint = self._endpoint(name)
        endpoint.transport = f.get("transport", "")
        endpoint.aors = norm.split_list(f.get("aor", ""))
        endpoint.auths = norm.split_list(f.get("auths", ""))
        endpoint.outbound_auths = norm.split_list(f.get("outboundauths", ""))
        endpoint.device_state = norm.device_state(f.get("devicestate", ""))
        changed: set[Key] = {(ENDPOINT, name)}
        listed: set[str] = set()
        for line in message.values("contacts"):
            for item in line.split(","):
                aor, sep, uri = item.strip().partition("/")
                if sep and uri:
                    listed.add(f"{aor}/{uri}")
                    changed |= self._touch_contact(aor, uri, name)
        endpoint.has_contacts = bool(listed)
        if "contacts" in f:  # absent when the endpoint has no existing AOR
            for aor in endpoint.aors:
                for key in [k for k in self.aor_contacts.get(aor, ()) if k not in listed]:
                    changed |= self._drop_contact(key)
        return changed

    def _endpoint_detail(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        name = f.get("objectname", "")
        if not name:
            return _NOTHING
        endpoint = self._endpoint(name)
        endpoint.context = f.get("context", "")
        endpoint.transport = f.get("transport", "")
        endpoint.aors = norm.split_list(f.get("aors", ""))
        endpoint.auths = norm.split_list(f.get("auth", ""))
        endpoint.outbound_auths = norm.split_list(f.get("outboundauth", ""))
        endpoint.device_state = norm.device_state(f.get("devicestate", ""))
        endpoint.identifies = {}
        self._detail = name
        self._detail_seen = set()
        return {(ENDPOINT, name)}

    def _identify_detail(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        owner = f.get("endpoint", "") or f.get("endpointname", "")
        endpoint = self.endpoints.get(owner)
        if endpoint is None:
            return _NOTHING
        name = f.get("objectname", "")
        identify = endpoint.identifies[name] = Identify(
            name=name, endpoint=owner, matches=norm.split_matches(f.get("match", "")),
            match_header=f.get("matchheader", ""),
            match_request_uri=f.get("matchrequesturi", ""),
        )
        changed: set[Key] = {(ENDPOINT, owner)}
        for address in self.senders.resolve(identify, self.clock()):
            changed.add((SENDER, address))
        return changed

    def _endpoint_detail_complete(self, _f: Fields, _m: AmiMessage) -> Set[Key]:
        endpoint = self.endpoints.get(self._detail)
        self._detail = ""
        if endpoint is None:
            return _NOTHING
        endpoint.detail_loaded = True
        changed: set[Key] = {(ENDPOINT, endpoint.name)}
        for aor in endpoint.aors:
            for key in [k for k in self.aor_contacts.get(aor, ()) if k not in self._detail_seen]:
                changed |= self._drop_contact(key)
        return changed

    def _peer_status(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        name = f.get("peer", "").removeprefix("PJSIP/")
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return _NOTHING
        endpoint.peer_status = f.get("peerstatus", "")
        return {(ENDPOINT, name)}

    def _device_state(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        device = f.get("device", "")
        if not device.startswith("PJSIP/"):
            return _NOTHING
        endpoint = self.endpoints.get(device[6:])
        if endpoint is None:
            return _NOTHING
        endpoint.device_state = norm.device_state(f.get("state", ""))
        return {(ENDPOINT, endpoint.name)}

    # -- contacts ----------------------------------------------------------------------
    def _touch_contact(self, aor: str, uri: str, endpoint: str) -> set[Key]:
        key = f"{aor}/{uri}"
        contact = self.contacts.get(key)
        if contact is None:
            contact = self.contacts[key] = Contact(aor=aor, uri=uri, endpoint=endpoint)
            self.aor_contacts.setdefault(aor, set()).add(key)
        elif endpoint and not contact.endpoint:
            contact.endpoint = endpoint
        contact.gen = self._gen["contacts"]
        changed: set[Key] = {(CONTACT, key)}
        for owner in self._owners(aor, endpoint):
            changed.add((ENDPOINT, owner))
        return changed

    def _owners(self, aor: str, hint: str) -> list[str]:
        if hint:
            return [hint]
        return [e.name for e in self.endpoints.values() if aor in e.aors]

    def _set_status(self, contact: Contact, status: str, rtt: str) -> None:
        contact.status = status
        usec = norm.to_int(rtt, -1) if status == "Reachable" else -1
        if usec > 0:
            contact.rtt_usec = usec
            contact.rtt_history.append(usec / 1000.0)
        elif status != "Reachable":
            contact.rtt_usec = None

    def _contact_status(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        aor, uri = f.get("aor", ""), f.get("uri", "")
        key = f"{aor}/{uri}"
        status = f.get("contactstatus", "")
        if status == "Removed":
            return self._drop_contact(key)
        changed = self._touch_contact(aor, uri, f.get("endpointname", ""))
        self._set_status(self.contacts[key], status, f.get("roundtripusec", ""))
        return changed

    def _contact_detail(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        aor, uri = f.get("aor", ""), f.get("uri", "")
        changed = self._touch_contact(aor, uri, f.get("endpointname", ""))
        key = f"{aor}/{uri}"
        contact = self.contacts[key]
        contact.user_agent = f.get("useragent", "")
        contact.via = f.get("viaaddress", "")
        contact.reg_expire = norm.to_int(f.get("regexpire", "0"))
        self._set_status(contact, f.get("status", ""), f.get("roundtripusec", ""))
        self._detail_seen.add(key)
        return changed

    def _contact_list(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        aor = f.get("objectname", "").partition(";@")[0]
        uri = f.get("uri", "")
        if not aor or not uri:
            return _NOTHING
        changed = self._touch_contact(aor, uri, f.get("endpoint", ""))
        contact = self.contacts[f"{aor}/{uri}"]
        contact.user_agent = f.get("useragent", "")
        contact.reg_expire = norm.to_int(f.get("expirationtime", "0"))
        via, port = f.get("viaaddr", ""), f.get("viaport", "")
        contact.via = f"{via}:{port}" if via and port and port != "0" else via
        self._set_status(contact, f.get("status", ""), f.get("roundtripusec", ""))
        return changed

    def _drop_contact(self, key: str) -> set[Key]:
        contact = self.contacts.pop(key, None)
        if contact is None:
            return set()
        keys = self.aor_contacts.get(contact.aor)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self.aor_contacts[contact.aor]
        changed: set[Key] = {(CONTACT, key)}
        for owner in self._owners(contact.aor, contact.endpoint):
            changed.add((ENDPOINT, owner))
        return changed

    # -- security and core ---------------------------------------------------------------
    def _security(self, _f: Fields, message: AmiMessage) -> Set[Key]:
        address = self.senders.record(message, self.clock())
        return _NOTHING if address is None else {(SENDER, address)}

    def _core(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        self.booted = f.get("event") == "FullyBooted"
        return {CORE}
