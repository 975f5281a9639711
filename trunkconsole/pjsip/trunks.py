"""Trunks as the operator thinks of them: endpoint + aor + auth + identify + registration."""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.findings import Finding
from trunkconsole.pjsip.objects import PjsipObject
from trunkconsole.pjsip.resolve import PjsipConfig


@dataclass
class TrunkGroup:
    """One endpoint and every object that belongs to it, with the findings about them."""

    endpoint: PjsipObject
    aors: list[PjsipObject] = field(default_factory=list)
    auths: list[PjsipObject] = field(default_factory=list)
    identifies: list[PjsipObject] = field(default_factory=list)
    registrations: list[PjsipObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.endpoint.id

    @property
    def is_trunk(self) -> bool:
        """Matched by IP, or registering out: what operators call a trunk."""
        return bool(self.identifies or self.registrations)

    def objects(self) -> list[PjsipObject]:
        """Every object of the group, endpoint first."""
        return [self.endpoint, *self.aors, *self.auths, *self.identifies, *self.registrations]


def trunk_groups(pjsip: PjsipConfig, findings: list[Finding] | None = None) -> list[TrunkGroup]:
    """Group objects by endpoint; findings attach to the group whose objects they name."""
    groups: list[TrunkGroup] = []
    by_identify = pjsip.endpoints_with_identifies()
    registrations: dict[str, list[PjsipObject]] = {}
    for reg in pjsip.of_type("registration"):
        registrations.setdefault(reg.value("endpoint"), []).append(reg)
    for endpoint in pjsip.of_type("endpoint"):
        group = TrunkGroup(endpoint)
        group.aors = [a for name in endpoint.names("aors")
                      if (a := pjsip.get("aor", name)) is not None]
        auth_names = endpoint.names("auth") + endpoint.names("outbound_auth")
        group.identifies = by_identify.get(endpoint.id, [])
        group.registrations = registrations.get(endpoint.id, [])
        for reg in pjsip.of_type("registration"):
            if reg not in group.registrations and reg.wizard and reg.wizard == endpoint.wizard:
                group.registrations.append(reg)
        for reg in group.registrations:
            auth_names += reg.names("outbound_auth")
        group.auths = [a for name in dict.fromkeys(auth_names)
                       if (a := pjsip.get("auth", name)) is not None]
        groups.append(group)
    names = {obj.id: group for group in groups for obj in group.objects()}
    for finding in findings or []:
        for subject in finding.subject.split(", "):
            target = names.get(subject)
            if target is not None and finding not in target.findings:
                target.findings.append(finding)
    return groups
