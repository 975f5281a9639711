"""A new IP-authenticated trunk, whole: aor, endpoint, identify, DID routes, outbound route.

The template is the one every carrier's "Asterisk PJSIP" page converges on: qualify the
provider, disallow=all before allow, direct_media=no, rtp_symmetric, force_rport,
rewrite_contact, identify_by=ip (with the default `username,ip` a From user equal to the
trunk's name would match without the IP check; reference §3.1). One diff for both files,
verified after the reloads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole.changes.changeset import (
    RELOAD_DIALPLAN,
    RELOAD_PJSIP,
    AmiActions,
    ChangeSet,
    Unchanged,
    Verdict,
    Verifier,
)
from trunkconsole.changes.files import snapshot
from trunkconsole.changes.identify import live_matches
from trunkconsole.changes.trunk_existing import (
    contact_uri,
    differences,
    existing_objects,
    refuse_different,
)
from trunkconsole.conf import edit
from trunkconsole.conf.document import ConfigFile
from trunkconsole.errors import OperatorError
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.addresses import ProviderAddress
from trunkconsole.pjsip.system import AsteriskConfig, load_asterisk

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}\Z")
_DID = re.compile(r"^\+?[0-9]{2,20}\Z")
_CONTEXT = re.compile(r"^[A-Za-z0-9_-]{1,79}\Z")
_USER = re.compile(r"^[A-Za-z0-9_.+-]{1,64}\Z")
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]{1,253}\Z")
CODECS = {"ulaw", "alaw", "g722", "g729", "gsm", "opus", "ilbc", "speex", "slin", "g726"}


@dataclass
class TrunkSpec:
    """What the operator asked for; validate() refuses anything that is not clean."""

    name: str
    provider_ips: list[ProviderAddress]
    dids: list[str] = field(default_factory=list)
    route_to: str = ""  # context the DIDs go to
    codecs: list[str] = field(default_factory=lambda: ["ulaw", "alaw"])
    from_user: str = ""
    from_domain: str = ""
    qualify_frequency: int = 60
    transport: str = ""

    @property
    def context(self) -> str:
        return f"from-{self.name}"

    @property
    def outbound_context(self) -> str:
        return f"to-{self.name}"

    def validate(self) -> None:
        if not _NAME.match(self.name):
            raise OperatorError(f"trunk name {self.name!r} is not valid",
                                fix="letters, digits, '_', '-', '.'; start with a letter")
        if not self.provider_ips:
            raise OperatorError("a trunk needs at least one --provider-ip")
        for did in self.dids:
            if not _DID.match(did):
                raise OperatorError(f"DID {did!r} is not a number")
        if self.dids and not _CONTEXT.match(self.route_to or ""):
            raise OperatorError("say where the DIDs go: --route-to CONTEXT",
                                fix="the dialplan context that handles those numbers")
        for codec in self.codecs:
            if codec not in CODECS:
                raise OperatorError(f"unknown codec {codec!r}", fix=", ".join(sorted(CODECS)))
        if self.from_user and not _USER.match(self.from_user):
            raise OperatorError(f"from_user {self.from_user!r} is not valid")
        if self.from_domain and not _DOMAIN.match(self.from_domain):
            raise OperatorError(f"from_domain {self.from_domain!r} is not valid")
        if not 0 <= self.qualify_frequency <= 86400:
            raise OperatorError("qualify frequency must be 0..86400 seconds")
        if self.transport and not _CONTEXT.match(self.transport):
            raise OperatorError(f"transport {self.transport!r} is not valid")


def _target_file(config: AsteriskConfig, name: str, custom: str) -> tuple[Path, bool]:
    """The file to append to: name, or its FreePBX custom file when name is generated."""
    doc = config.documents.by_name(name)
    if doc is not None and freepbx.is_generated(doc):
        return config.config_dir / custom, True
    return config.config_dir / name, False


def _pick_transport(config: AsteriskConfig, wanted: str) -> str:
    transports = config.pjsip.of_type("transport")
    if wanted:
        if not any(t.id == wanted for t in transports):
            raise OperatorError(f"no transport named {wanted!r} in pjsip.conf")
        return wanted
    udp = [t for t in transports if t.value("protocol", "udp").lower() == "udp"]
    if not udp:
        raise OperatorError("pjsip.conf has no UDP transport for the trunk",
                            fix="add a transport or pass --transport")
    return udp[0].id


def plan_trunk_add(config_dir: Path, spec: TrunkSpec) -> ChangeSet:
    """One ChangeSet with the PJSIP objects and the dialplan of a new trunk."""
    spec.validate()
    config = load_asterisk(config_dir)
    if spec.dids and config.dialplan.found and not config.dialplan.has(spec.route_to):
        raise OperatorError(f"context {spec.route_to!r} (--route-to) is not in extensions.conf")
    transport = _pick_transport(config, spec.transport)
    if existing_objects(config, spec.name):
        diffs = differences(config, spec, transport)
        if diffs:
            raise refuse_different(spec, diffs)
        raise Unchanged(f"trunk {spec.name} already exists as asked",
                        evidence=f"endpoint, aor and identify [{spec.name}], contexts "
                        f"{spec.context} and {spec.outbound_context}",
                        verify=_verify_trunk(spec))
    for context in (spec.context, spec.outbound_context):
        if config.dialplan.has(context):
            raise OperatorError(f"dialplan context {context!r} already exists")
    changeset = ChangeSet(f"new IP-authenticated trunk {spec.name}")

    pjsip_path, pjsip_custom = _target_file(config, "pjsip.conf", "pjsip_custom_post.conf")
    before = snapshot(pjsip_path)
    doc = ConfigFile.from_bytes(before.content, pjsip_path.name, pjsip_path)
    endpoint = [("type", "endpoint"), ("transport", transport), ("context", spec.context),
                ("disallow", "all"), ("allow", ",".join(spec.codecs)), ("aors", spec.name),
                ("direct_media", "no"), ("rtp_symmetric", "yes"), ("force_rport", "yes"),
                ("rewrite_contact", "yes"), ("identify_by", "ip")]
    if spec.from_user:
        endpoint.append(("from_user", spec.from_user))
    if spec.from_domain:
        endpoint.append(("from_domain", spec.from_domain))
    edit.add_section(doc, spec.name, [("type", "aor"),
                                      ("contact", contact_uri(spec.provider_ips[0])),
                                      ("qualify_frequency", str(spec.qualify_frequency))])
    edit.add_section(doc, spec.name, endpoint)
    edit.add_section(doc, spec.name, [("type", "identify"), ("endpoint", spec.name)]
                     + [("match", a.text) for a in spec.provider_ips])
    changeset.add(pjsip_path, doc.render(), before)

    ext_path, ext_custom = _target_file(config, "extensions.conf", "extensions_custom.conf")
    before = snapshot(ext_path)
    doc = ConfigFile.from_bytes(before.content, ext_path.name, ext_path)
    inbound: list[tuple[str, str]] = []
    for did in spec.dids:
        inbound.append(("exten", f"{did},1,NoOp(DID {did} from trunk {spec.name})"))
        inbound.append(("same", f"n,Goto({spec.route_to},{did},1)"))
    inbound.append(("exten", f"_X.,1,NoOp(unrouted DID ${{EXTEN}} from trunk {spec.name})"))
    inbound.append(("same", "n,Hangup(1)"))
    edit.add_section(doc, spec.context, inbound, op="=>")
    edit.add_section(doc, spec.outbound_context, [
        ("exten", f"_X.,1,Dial(PJSIP/${{EXTEN}}@{spec.name},60)"),
        ("same", "n,Hangup()"),
    ], op="=>")
    changeset.add(ext_path, doc.render(), before)

    if pjsip_custom or ext_custom:
        changeset.notes.append(freepbx.gui_note(
            [p.name for p, custom in ((pjsip_path, pjsip_custom), (ext_path, ext_custom))
             if custom]))
    changeset.notes += [f"{a.text} is a hostname: resolved only at reload"
                        for a in spec.provider_ips if a.is_hostname]
    changeset.reloads = [RELOAD_PJSIP, RELOAD_DIALPLAN]
    changeset.verify = _verify_trunk(spec)
    changeset.verify_restored = _verify_no_trunk(spec.name)
    return changeset


async def _endpoint_detail(ami: AmiActions, name: str) -> list[Any]:
    reply = await ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": name})
    return reply if isinstance(reply, list) else [reply]


def _verify_trunk(spec: TrunkSpec) -> Verifier:
    async def verify(ami: AmiActions) -> Verdict:
        messages = await _endpoint_detail(ami, spec.name)
        detail = next((m for m in messages if m.get("Event") == "EndpointDetail"), None)
        if detail is None:
            return Verdict(False, f"Asterisk did not create endpoint {spec.name} "
                           "(see its log for the rejected option)")
        aors = str(detail.get("Aors", ""))
        if aors != spec.name:
            return Verdict(False, f"endpoint {spec.name} has aors={aors!r}, not its aor")
        matches = "; ".join(await live_matches(ami, spec.name))
        if not matches:
            return Verdict(False, f"no identify is loaded for {spec.name}")
        lines = await ami.command(f"dialplan show {spec.context}")
        missing = [d for d in spec.dids if not any(f"'{d}'" in line for line in lines)]
        if missing or not any("Goto" in line or "Hangup" in line for line in lines):
            return Verdict(False, f"dialplan context {spec.context} lacks "
                           f"{', '.join(missing) or 'its extensions'} after the reload")
        return Verdict(True, f"endpoint {spec.name} with aor and identify ({matches}); "
                       f"context {spec.context} routes {len(spec.dids)} DID(s)")
    return verify


def _verify_no_trunk(name: str) -> Verifier:
    async def verify(ami: AmiActions) -> Verdict:
        messages = await _endpoint_detail(ami, name)
        exists = any(m.get("Event") == "EndpointDetail" for m in messages)
        return Verdict(not exists, f"endpoint {name} {'still' if exists else 'no longer'} "
                       "exists")
    return verify
