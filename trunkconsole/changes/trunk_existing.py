"""`trunk add` when the trunk is already there: unchanged when it is as asked, else refused.

A configuration tool runs `trunk add` on every run; the second run must find the trunk
and say "unchanged", not create a duplicate (Asterisk would merge two `[name]` sections
of one type into one object with repeated options) nor fail. A trunk that exists but
differs is not rewritten: `trunk add` only creates; changes go through `config set` and
`identify add`, which review one option at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trunkconsole.changes.identify import same_entry
from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.addresses import ProviderAddress
from trunkconsole.pjsip.objects import PjsipObject, is_true
from trunkconsole.pjsip.system import AsteriskConfig

if TYPE_CHECKING:
    from trunkconsole.changes.trunk import TrunkSpec

KINDS = ("endpoint", "aor", "identify")


def contact_uri(address: ProviderAddress) -> str:
    """The aor contact the PBX sends to and qualifies: the provider's first address."""
    m = address.match
    if address.is_hostname:
        return f"sip:{address.text}"
    host = f"[{m.address}]" if m.version == 6 else str(m.address)
    return f"sip:{host}:{m.port or 5060}"


def existing_objects(config: AsteriskConfig, name: str) -> dict[str, PjsipObject]:
    """The trunk's objects that already exist (an auth of that name counts too)."""
    found = {kind: config.pjsip.get(kind, name) for kind in (*KINDS, "auth")}
    return {kind: obj for kind, obj in found.items() if obj is not None}


def differences(config: AsteriskConfig, spec: TrunkSpec, transport: str) -> list[str]:
    """What differs between the trunk as it is and as asked (empty: it is as asked)."""
    objects = existing_objects(config, spec.name)
    missing = [kind for kind in KINDS if kind not in objects]
    if missing or "auth" in objects:
        parts = ([f"no {kind}" for kind in missing]
                 + (["an auth of that name (not IP-authenticated)"] if "auth" in objects else []))
        return [f"only part of it exists ({', '.join(parts)})"]
    endpoint, aor, identify = (objects[k] for k in KINDS)
    wanted: list[tuple[str, str, str]] = [
        ("context", endpoint.value("context"), spec.context),
        ("aors", endpoint.value("aors"), spec.name),
        ("transport", endpoint.value("transport"), transport),
        ("from_user", endpoint.value("from_user"), spec.from_user),
        ("from_domain", endpoint.value("from_domain"), spec.from_domain),
        ("allow", ",".join(endpoint.names("allow")), ",".join(spec.codecs)),
        ("qualify_frequency", aor.value("qualify_frequency", "0"), str(spec.qualify_frequency)),
        ("contact", ",".join(aor.names("contact")), contact_uri(spec.provider_ips[0])),
    ]
    out = [f"{option} is {have!r}, asked {want!r}" for option, have, want in wanted
           if have.strip() != want]
    if "ip" not in [v.strip().lower() for v in endpoint.value("identify_by",
                                                                "username,ip").split(",")]:
        out.append("identify_by does not include ip")
    if not is_true(endpoint.value("rtp_symmetric", "no")):
        out.append("rtp_symmetric is off")
    matches = [m for m, _option in config.pjsip.matches(identify)]
    absent = [a.text for a in spec.provider_ips if not any(same_entry(m, a) for m in matches)]
    if absent:
        out.append(f"its identify does not match {', '.join(absent)}")
    inbound = config.dialplan.contexts.get(spec.context)
    if config.dialplan.found:
        if inbound is None:
            out.append(f"dialplan context {spec.context} is missing")
        else:
            unrouted = [d for d in spec.dids if d not in inbound.extensions]
            if unrouted:
                out.append(f"{spec.context} does not route {', '.join(unrouted)}")
        if not config.dialplan.has(spec.outbound_context):
            out.append(f"dialplan context {spec.outbound_context} is missing")
    return out


def refuse_different(spec: TrunkSpec, diffs: list[str]) -> OperatorError:
    """The error for a trunk that exists but is not as asked."""
    return OperatorError(
        f"trunk {spec.name!r} already exists and differs from what was asked",
        evidence="; ".join(diffs),
        fix="trunk add only creates: change it with `config set` or `identify add`, "
        "or choose another name")
