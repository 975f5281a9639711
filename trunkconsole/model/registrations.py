"""The outbound-registration half of PbxState: PJSIPShowRegistrationsOutbound's items and
the Registry events that follow each attempt.

A Registry event names the registration only by its client and server URIs (Username,
Domain), never by the section name the listing used: it is matched on both.
"""

from __future__ import annotations

from collections.abc import Callable, Set

from trunkconsole.ami.message import AmiMessage
from trunkconsole.model import normalise as norm
from trunkconsole.model.keys import _NOTHING, ENDPOINT, REGISTRATION, Fields, Key
from trunkconsole.model.records import Endpoint, Registration


class RegistrationEvents:
    """Registration handlers over PbxState's dictionaries (a mixin: PbxState owns the data
    and the dispatch)."""

    clock: Callable[[], float]
    endpoints: dict[str, Endpoint]
    registrations: dict[str, Registration]
    _registrations_of: dict[str, set[str]]  # endpoint -> registration names
    _gen: dict[str, int]

    def _registration_detail(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        name = f.get("objectname", "")
        if not name:
            return _NOTHING
        registration = self.registrations.get(name)
        if registration is None:
            registration = self.registrations[name] = Registration(name=name)
        registration.gen = self._gen["registrations"]
        registration.server_uri = f.get("serveruri", "")
        registration.client_uri = f.get("clienturi", "")
        endpoint_name = f.get("endpoint", "")
        if registration.endpoint != endpoint_name:
            self._registrations_of.get(registration.endpoint, set()).discard(name)
        registration.endpoint = endpoint_name
        self._registrations_of.setdefault(endpoint_name, set()).add(name)
        status = f.get("status", "Unknown")
        if status != registration.status:
            registration.changed_at = self.clock()
        registration.status = status
        registration.next_reg = norm.to_int(f.get("nextreg", "0"))
        changed: set[Key] = {(REGISTRATION, name)}
        owner = self.endpoints.get(registration.endpoint)
        if owner is not None:
            owner.registrations.add(name)
            changed.add((ENDPOINT, owner.name))
        return changed

    def _registry(self, f: Fields, _m: AmiMessage) -> Set[Key]:
        if f.get("channeltype") != "PJSIP":
            return _NOTHING
        client, server = f.get("username", ""), f.get("domain", "")
        for registration in self.registrations.values():
            if registration.client_uri == client and registration.server_uri == server:
                status = f.get("status", "")
                if status != registration.status:
                    registration.changed_at = self.clock()
                registration.status = status
                changed: set[Key] = {(REGISTRATION, registration.name)}
                if registration.endpoint in self.endpoints:
                    changed.add((ENDPOINT, registration.endpoint))
                return changed
        return _NOTHING

