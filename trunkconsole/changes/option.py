"""Set one option on one PJSIP object, as a reviewed diff: any config edit, done safely.

The value goes into the object's own section: replacing its own line, or adding a line
that overrides a template's value (a template may carry many trunks). Asterisk rejects
the whole object for an unknown option (config_options.c), so the name is checked against
the option table read from Asterisk 22's own documentation.
"""

from __future__ import annotations

import re
from pathlib import Path

from trunkconsole.changes.changeset import (
    RELOAD_PJSIP,
    AmiActions,
    ChangeSet,
    Unchanged,
    Verdict,
    Verifier,
)
from trunkconsole.changes.custom_post import (
    on_freepbx,
    plan_generated_option,
    refuse_generated_values,
)
from trunkconsole.changes.files import snapshot
from trunkconsole.conf import edit
from trunkconsole.errors import OperatorError
from trunkconsole.masking import is_secret_option
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.pjsip.objects import Option
from trunkconsole.pjsip.resolve import known_option
from trunkconsole.pjsip.system import AsteriskConfig, load_asterisk

_VALUE = re.compile(r"[^\r\n\x00;]{0,1024}")
TYPES = ("endpoint", "aor", "identify", "transport", "registration", "auth")
# Options that let addresses in: the range guard of `identify add` applies to each entry.
# deny/contact_deny only keep addresses out (deny=0.0.0.0/0.0.0.0 then permit=... is the
# usual pattern), so they are checked for syntax, not size.
ADMITTING = ("match", "permit", "contact_permit")
REFUSING = ("deny", "contact_deny")
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def camel(option: str) -> str:
    """ast_to_camel_case(): from_user -> FromUser (AMI header names of sorcery dumps)."""
    return "".join(part[:1].upper() + part[1:] for part in option.split("_"))


def _codecs(value: str) -> list[str] | None:
    """AMI prints a codec list as `(ulaw|alaw)`, `(nothing)` when empty (main/sorcery.c)."""
    if not (value.startswith("(") and value.endswith(")")):
        return None
    inner = value[1:-1]
    return [] if inner == "nothing" else [c.strip() for c in inner.split("|") if c.strip()]


def _same(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    if a in _TRUE | _FALSE and b in _TRUE | _FALSE:
        return (a in _TRUE) == (b in _TRUE)
    codecs = _codecs(a)
    if codecs is not None and _codecs(b) is None:  # live codec list vs allow= as written
        return codecs == [c.strip() for c in b.split(",") if c.strip()]
    return a == b


def _equal(written: str, wanted: str) -> bool:
    """The same effective value: equal text, or two spellings of one boolean (ast_true)."""
    if written.strip() == wanted.strip():
        return True
    a, b = written.strip().lower(), wanted.strip().lower()
    return a in _TRUE | _FALSE and b in _TRUE | _FALSE and (a in _TRUE) == (b in _TRUE)


def check_addresses(option: str, value: str, *, force: bool = False) -> None:
    """Each entry of a match/permit/deny list, as `identify add` checks an address."""
    if option not in ADMITTING + REFUSING:
        return
    entries = [e.strip() for e in value.split(",")]
    if not any(entries):
        raise OperatorError(f"{option} needs at least one address")
    for entry in entries:
        if not entry:
            raise OperatorError(f"{option} {value!r} has an empty entry")
        address = parse_provider_address(entry, force=force or option in REFUSING)
        if option != "match" and (address.is_hostname or address.match.port is not None):
            raise OperatorError(f"{entry!r} is not an address or network for {option}",
                                evidence="Asterisk's ACLs take addresses and networks, "
                                "without hostnames or ports (ast_append_ha)")


def plan_option_set(config_dir: Path, kind: str, name: str, option: str,
                    value: str, *, force: bool = False) -> ChangeSet:
    """The ChangeSet setting option=value on the object kind/name."""
    if kind not in TYPES:
        raise OperatorError(f"unknown object type {kind!r}", fix="one of " + ", ".join(TYPES))
    option = option.strip().lower()
    if not re.match(r"^[a-z0-9_]{1,64}\Z", option) or not known_option(kind, option):
        raise OperatorError(f"{option!r} is not an option of a PJSIP {kind}",
                            fix="Asterisk would reject the whole object: check the spelling")
    if not _VALUE.fullmatch(value):
        raise OperatorError(f"the value for {option} cannot go into a config line",
                            evidence="line breaks, NUL and ';' are refused, and at most "
                            "1024 characters")
    edit.check_text(value)
    check_addresses(option, value, force=force)
    config = load_asterisk(config_dir)
    obj = config.pjsip.get(kind, name)
    if obj is None:
        raise OperatorError(f"no {kind} named {name!r} in {config_dir}/pjsip.conf")
    if obj.wizard:
        raise OperatorError(f"{kind} {name} is generated by pjsip_wizard.conf [{obj.wizard}]",
                            fix=f"set {kind}/{option} in that wizard section")
    current = obj.last(option)
    if current is not None and _equal(current.value, value):
        template = obj.template_of(current)
        raise Unchanged(f"{option} is already "
                        f"{'that' if is_secret_option(option) else repr(value)} "
                        f"on {kind} {name}",
                        evidence=current.location()
                        + (f" (from template [{template}])" if template else ""),
                        verify=_verify_endpoint(name, option, value)
                        if kind == "endpoint" else _verified_part(config, kind, name,
                                                                 option, value))
    doc = config.documents.by_name(obj.file)
    if doc is None:
        raise OperatorError(f"cannot find {obj.file} among the loaded files")
    shown = "********" if is_secret_option(option) else value
    changeset = ChangeSet(f"set {option} = {shown} on {kind} {name}")
    own = current if current is not None and obj.template_of(current) is None else None
    if own is not None:
        doc = config.documents.by_name(own.file) or doc  # the line to replace is there
    refuse_generated_values(config, obj, option)
    if freepbx.is_generated(doc):
        custom = plan_generated_option(config, obj, option, value, doc)
        changeset.add(custom.path, custom.content, custom.before)
        changeset.notes += custom.notes
        return _finish(changeset, kind, name, option, value, current,
                       shown_with(config, kind, name))
    path = doc.path if doc.path is not None else config_dir / doc.name
    before = snapshot(path)
    if own is not None:
        edit.set_value(doc, own.line - 1, value)
    else:
        headers = [i for i, _line in doc.sections() if i <= obj.line - 1]
        edit.add_setting(doc, headers[-1], option, value)
    changeset.add(path, doc.render(), before)
    if on_freepbx(config):
        changeset.notes.append(freepbx.gui_note([doc.name]))
    if current is not None and obj.template_of(current) is not None:
        changeset.notes.append(f"overrides {option}="
                               f"{'********' if is_secret_option(option) else current.value}"
                               " from template "
                               f"[{obj.template_of(current)}] for {name} only")
    return _finish(changeset, kind, name, option, value, current,
                   shown_with(config, kind, name))


def _finish(changeset: ChangeSet, kind: str, name: str, option: str, value: str,
            current: Option | None, shown_by: str | None = None) -> ChangeSet:
    changeset.reloads = [RELOAD_PJSIP]
    if kind == "endpoint":
        changeset.verify = _verify_endpoint(name, option, value)
        # An option that was unset has a default this side cannot know: restored means
        # "not the new value" then.
        changeset.verify_restored = _verify_endpoint(
            name, option, current.value) if current else _verify_endpoint(
            name, option, value, expect=False)
    elif shown_by is not None and comparable(option, value):
        changeset.verify = _verify_part(shown_by, kind, name, option, value)
        changeset.verify_restored = _verify_part(
            shown_by, kind, name, option, current.value) if current else _verify_part(
            shown_by, kind, name, option, value, expect=False)
    return changeset


def _verified_part(config: AsteriskConfig, kind: str, name: str, option: str,
                   value: str) -> Verifier | None:
    endpoint = shown_with(config, kind, name)
    if endpoint is None or not comparable(option, value):
        return None
    return _verify_part(endpoint, kind, name, option, value)


def shown_with(config: AsteriskConfig, kind: str, name: str) -> str | None:
    """An endpoint whose PJSIPShowEndpoint dumps this aor, auth or identify (AorDetail,
    AuthDetail, IdentifyDetail follow EndpointDetail), or None."""
    if kind == "identify":
        identify = config.pjsip.get("identify", name)
        endpoint = identify.value("endpoint") if identify is not None else ""
        return endpoint or None
    refs = {"aor": ("aors",), "auth": ("auth", "outbound_auth")}.get(kind)
    if refs is None:
        return None
    return next((e.id for e in config.pjsip.of_type("endpoint")
                 if any(name in e.names(ref) for ref in refs)), None)


def comparable(option: str, value: str) -> bool:
    """Can the live dump be compared with the value as written? Address lists (match,
    permit, deny) and contacts come back rewritten (203.0.113.10/255.255.255.255), and
    our AMI client drops secret headers (ami/message.py): no."""
    return option not in ADMITTING + REFUSING + ("contact",) and "," not in value \
        and not is_secret_option(option)


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)  # qualify_timeout = 2 is dumped as 2.000000
    except ValueError:
        return False


def _verify_part(endpoint: str, kind: str, name: str, option: str, value: str, *,
                 expect: bool = True) -> Verifier:
    """The aor/auth/identify as Asterisk runs it, from the endpoint that uses it. A
    rejected object is not an error on reload: Asterisk keeps the old one (reference
    §4.3), so only the value proves the change is live."""
    event = {"aor": "AorDetail", "auth": "AuthDetail", "identify": "IdentifyDetail"}[kind]

    async def verify(ami: AmiActions) -> Verdict:
        reply = await ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": endpoint})
        messages = reply if isinstance(reply, list) else [reply]
        detail = next((m for m in messages if m.get("Event") == event
                       and m.get("ObjectName") == name), None)
        if detail is None:
            return Verdict(False, f"{kind} {name} is not loaded for endpoint {endpoint}")
        live = str(detail.get(camel(option), ""))
        same = _same(live, value) or _same_number(live, value)
        return Verdict(same == expect, f"{kind} {name}: {option} is {live!r} in Asterisk")
    return verify


def _verify_endpoint(name: str, option: str, value: str, *, expect: bool = True) -> Verifier:
    async def verify(ami: AmiActions) -> Verdict:
        reply = await ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": name})
        messages = reply if isinstance(reply, list) else [reply]
        detail = next((m for m in messages if m.get("Event") == "EndpointDetail"), None)
        if detail is None:
            return Verdict(False, f"endpoint {name} is not loaded (Asterisk rejected it?)")
        live = str(detail.get(camel(option), ""))
        ok = _same(live, value) == expect
        return Verdict(ok, f"endpoint {name}: {option} is {live!r} in Asterisk")
    return verify
