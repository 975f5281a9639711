"""Which caller ID a pre-flight sends when none is given: what a real outbound call sends.

An Originate without CallerID leaves the channel's caller ID empty and chan_pjsip puts
`anonymous` in the From user, which a provider may refuse for that reason alone. A real
call out through the trunk carries, in order of precedence:
- the endpoint's `from_user`, which replaces the From user of every call Asterisk sends
  on that endpoint (res_pjsip_session.c, set_from_header);
- else the caller ID the outbound route sets before Dial(PJSIP/...@TRUNK), e.g.
  `Set(CALLERID(num)=15551239999)` (the usual way to send an assigned number);
- else the calling phone's own number, which a pre-flight has no phone for: the
  endpoint's `callerid` (its own identity) is the nearest configured number.
None of these: no default (Asterisk will send `anonymous`, said in the report).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from trunkconsole.conf.tree import LoadedConfig
from trunkconsole.pjsip.dialplan import RESERVED
from trunkconsole.pjsip.system import load_asterisk

_NUMBER = re.compile(r"^\+?[0-9]{3,32}$")
_LITERAL = re.compile(r"(?<![\w${])\+?[0-9]{3,32}(?![\w}])")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_SET_CALLERID = re.compile(r"^\s*Set\s*\(\s*CALLERID\s*\(\s*(num|all)\s*\)\s*=(.*)\)\s*$",
                           re.IGNORECASE)
_APP = re.compile(r"^\s*(?:\d+|n|[a-z]+)(?:\([^)]*\))?\s*,\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class CallerIdChoice:
    """The number to send and why (for the report); number "" when nothing applies."""

    number: str
    basis: str


def default_caller_id(config_dir: Path, trunk: str) -> CallerIdChoice:
    """What a real outbound call through `trunk` would send as caller ID."""
    config = load_asterisk(config_dir)
    endpoint = config.pjsip.get("endpoint", trunk)
    from_user = endpoint.value("from_user", "") if endpoint is not None else ""
    if from_user and _NUMBER.match(from_user):
        return CallerIdChoice(from_user, f"the trunk's from_user: Asterisk sends it as the "
                                         f"From user of every call through {trunk}")
    route = _route_caller_id(config.loaded.get("extensions.conf"), trunk)
    if route is not None:
        return route
    own = endpoint.value("callerid", "") if endpoint is not None else ""
    number = own.rpartition("<")[2].rstrip(">").strip() if "<" in own else own.strip()
    if _NUMBER.match(number):
        return CallerIdChoice(number, f"the trunk's callerid option ({own})")
    return CallerIdChoice("", "none configured: no from_user on the trunk, no "
                              "Set(CALLERID(num)=...) before a Dial through it in "
                              "extensions.conf, no callerid option")


def _route_caller_id(conf: LoadedConfig | None, trunk: str) -> CallerIdChoice | None:
    """The caller ID an outbound route sets in the extension that dials the trunk."""
    if conf is None or not conf.found:
        return None
    globals_: dict[str, str] = {}
    for cat in conf.categories:
        if cat.name.lower() == "globals":
            globals_.update({v.name: v.value for v in cat.variables})
    dials_trunk = re.compile(rf"PJSIP/(?:[^&,()]*@{re.escape(trunk)}\b|{re.escape(trunk)}/)")
    for cat in conf.categories:
        if cat.template or cat.name.lower() in RESERVED:
            continue
        setting: tuple[str, int] | None = None
        for var in cat.variables:
            if var.key == "exten":
                setting = None  # a new extension starts
            if var.key not in ("exten", "same"):
                continue
            body = var.value.split(",", 1)[1] if var.key == "exten" else var.value
            match = _APP.match(body)
            app = match[1] if match else body
            found = _SET_CALLERID.match(app)
            if found:
                setting = (found[2].strip(), var.line)
                continue
            expanded = _VARIABLE.sub(lambda m: globals_.get(m[1], m[0]), app)
            if app.strip().lower().startswith("dial") and dials_trunk.search(expanded) \
                    and setting is not None:
                number = _number_in(*setting)
                if number:
                    return CallerIdChoice(number, f"what the outbound route [{cat.name}] "
                                          f"sets before dialling {trunk}: "
                                          f"Set(CALLERID(num)={setting[0]}) (line "
                                          f"{setting[1]})" + ("" if setting[0] == number
                                                              else f", its number {number}"))
    return None


def _number_in(value: str, _line: int) -> str:
    """The number a Set(CALLERID(num)=VALUE) sends: VALUE itself, or the one literal number
    in an expression (`${IF(...?${OUTCID}:15551239999)}`: the fallback)."""
    value = value.strip().strip('"')
    if "<" in value:  # CALLERID(all)="Name" <num>
        value = value.rpartition("<")[2].rstrip(">")
    if _NUMBER.match(value):
        return value
    literals = set(_LITERAL.findall(value))
    return literals.pop() if len(literals) == 1 else ""
