"""Read `nft -j list ruleset` output into the IR, tolerating the differences between versions.

Version differences handled (reference §2.3): `{"xt": null}` before 1.0.6; single flags
printed as a string in 1.1.4 only; set types as `{"typeof": EXPR}` from 1.1.2; `dynamic`
shown only from 1.0.9; set elements wrapped as `{"elem": {"val": ...}}` when they carry a
timeout or comment.
"""

from __future__ import annotations

import json
from typing import Any

from trunkconsole.errors import OperatorError
from trunkconsole.net.ir import (
    AnonSet,
    BinOp,
    Chain,
    Concat,
    ConcatValue,
    CtHelper,
    Expr,
    Field,
    Flags,
    HelperObject,
    Match,
    NamedSet,
    Nat,
    Nop,
    NoTrack,
    Opaque,
    Prefix,
    Range,
    Rule,
    Ruleset,
    SetMark,
    SetRef,
    Statement,
    Table,
    Unknown,
    Value,
    Verdict,
    VMap,
)
from trunkconsole.net.render import render_expr, render_statement, render_value

VERDICT_KEYS = ("accept", "drop", "continue", "return", "jump", "goto", "queue")
CONDITIONAL_KEYS = ("limit", "quota", "ct count", "connlimit", "meter")
NOP_KEYS = ("counter", "log", "last", "dup", "secmark", "flow", "ct timeout",
            "ct expectation", "synproxy", "tproxy")
# iptables targets that never end the packet's walk (reference §5.3)
NONTERMINAL_XT = frozenset({"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "TCPMSS",
                            "DSCP", "TOS", "TRACE", "CLASSIFY", "NOTRACK", "CHECKSUM"})


def as_list(value: Any) -> list[Any]:
    """`flags` and `elem` may be a scalar (nft 1.1.4) or a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_value(raw: Any) -> Value:
    """A right-hand side or set element in IR form."""
    if isinstance(raw, (bool, int, str)):
        if isinstance(raw, str) and raw.startswith("@"):
            return SetRef(raw[1:])
        return raw
    if isinstance(raw, list):
        return Flags(tuple(raw))
    if isinstance(raw, dict):
        if "set" in raw:
            return AnonSet(tuple(parse_value(v) for v in as_list(raw["set"])))
        if "range" in raw:
            lo, hi = raw["range"]
            return Range(lo, hi)
        if "prefix" in raw:
            return Prefix(str(raw["prefix"]["addr"]), int(raw["prefix"]["len"]))
        if "concat" in raw:
            parts = tuple(parse_value(v) for v in raw["concat"])
            return ConcatValue(tuple(p for p in parts if not isinstance(
                p, (ConcatValue, SetRef, AnonSet))))
        if "elem" in raw:
            return parse_value(raw["elem"]["val"])
        if "|" in raw:
            return Flags(tuple(raw["|"]))
    raise ValueError(f"unsupported value {json.dumps(raw)[:80]}")


def parse_expr(raw: Any) -> Expr:
    """A left-hand side expression in IR form (Opaque when not understood)."""
    if isinstance(raw, dict) and len(raw) == 1:
        key, body = next(iter(raw.items()))
        if key == "payload" and isinstance(body, dict):
            if "protocol" in body:
                return Field("payload", str(body["protocol"]), str(body["field"]))
            base, offset, length = body.get("base"), body.get("offset"), body.get("len")
            if base in ("nh", "th") and isinstance(offset, int) and isinstance(length, int):
                return Field("raw", str(base), f"{offset},{length}")
            return Opaque(f"@{base},{offset},{length}")
        if key == "meta":
            return Field("meta", "", str(body["key"]))
        if key == "ct" and "dir" not in body:
            return Field("ct", "", str(body["key"]))
        if key == "fib":
            return Field("fib", ".".join(as_list(body.get("flags"))), str(body["result"]))
        if key == "exthdr":
            return Field("exthdr", str(body.get("name", "")), str(body.get("field", "")))
        if key == "tcp option" and isinstance(body, dict) and \
                (body.get("name"), body.get("field")) == ("maxseg", "size"):
            return Field("tcpopt", "maxseg", "size")
        if key == "concat":
            return Concat(tuple(parse_expr(part) for part in body))
        if key in ("&", "|", "^", "<<", ">>"):
            left, right = body
            return BinOp(key, parse_expr(left), parse_value(right))
    return Opaque(render_expr(raw))


def parse_verdict(raw: dict[str, Any]) -> Verdict:
    key, body = next(iter(raw.items()))
    if key in ("jump", "goto"):
        return Verdict(key, str(body["target"]))
    if key == "reject":
        return Verdict("reject")
    return Verdict(key)


def parse_statement(raw: Any, text: str | None = None) -> Statement:
    """One rule statement in IR form; anything conditional and unknown becomes Unknown."""
    if not isinstance(raw, dict) or not raw:
        return Unknown(text or render_statement(raw))
    key, body = next(iter(raw.items()))
    if key in ("match", "accept", "drop", "jump", "goto", "return", "continue", "counter"):
        text = ""  # rendered on demand (Rule.rendered)
    elif text is None:
        text = render_statement(raw)
    if key == "match":
        try:
            return Match(str(body["op"]), parse_expr(body["left"]), parse_value(body["right"]))
        except (ValueError, KeyError, TypeError):
            return Unknown(render_statement(raw))
    if key in VERDICT_KEYS or key == "reject":
        return parse_verdict(raw)
    if key == "vmap":
        data = body["data"]
        if isinstance(data, str) and data.startswith("@"):
            return VMap(parse_expr(body["key"]), SetRef(data[1:]))
        pairs = tuple((parse_value(k), parse_verdict(v)) for k, v in data["set"])
        return VMap(parse_expr(body["key"]), pairs)
    if key in CONDITIONAL_KEYS:
        return Unknown(text)
    if key == "counter":
        return Nop("counter")
    if key in ("set", "map"):
        # dynset: `update @banned { ip saddr limit rate over 20/second }` is conditional
        return Unknown(text) if body.get("stmt") else Nop(text)
    if key in NOP_KEYS:
        return Nop(text)
    if key == "mangle":
        target = body.get("key", {})
        if isinstance(target, dict) and ("meta" in target or "ct" in target):
            sub = "meta" if "meta" in target else "ct"
            if target[sub].get("key") == "mark":
                value = body.get("value")
                return SetMark(sub, value if isinstance(value, int) else None)
        return Nop(text)
    if key in ("dnat", "snat", "masquerade", "redirect"):
        body = body or {}
        addr = body.get("addr")
        port = body.get("port")
        return Nat(key, addr if isinstance(addr, str) else None,
                   port if isinstance(port, int) else None)
    if key == "ct helper":
        return CtHelper(str(body))
    if key == "notrack":
        return NoTrack()
    if key == "xt":
        if body is None:
            return Unknown("xt (unnamed: nft older than 1.0.6)")
        name = str(body.get("name", "?"))
        if body.get("type") == "target":
            if name in NONTERMINAL_XT:
                return Nop(text)
            return Verdict("unknown", f"xt target {name}")
        if name == "comment":
            return Nop(text)
        return Unknown(text)
    if key == "fwd":
        return Verdict("unknown", text)
    return Unknown(text)


def _statement(raw: Any, table: Table) -> Statement:
    """parse_statement, but a statement of a shape nft never printed this way makes only
    its rule undecided (named), never the whole ruleset unreadable."""
    try:
        if isinstance(raw, dict) and len(raw) == 1 and "quota" in raw:
            body = raw["quota"]
            if isinstance(body, str):
                if body not in table.quotas:
                    return Unknown(f'quota name "{body}" (not in the listing)')
                limit, used, over = table.quotas[body]
                return quota_match(limit, used, over, f'quota name "{body}"')
            unit = QUOTA_UNITS.get(str(body.get("val_unit", "bytes")), 1)
            used_unit = QUOTA_UNITS.get(str(body.get("used_unit", "bytes")), 1)
            return quota_match(int(body["val"]) * unit, int(body.get("used", 0)) * used_unit,
                               bool(body.get("inv")), render_statement(raw))
        return parse_statement(raw)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        key = next(iter(raw)) if isinstance(raw, dict) and raw else type(raw).__name__
        # it may have been a verdict (a vmap): continue, accept and drop all stay open
        return Verdict("unreadable", f"{str(key)[:40]} statement the engine cannot read "
                       f"({type(exc).__name__}): {_snippet(raw)[:80]}")


QUOTA_UNITS = {"bytes": 1, "kbytes": 1 << 10, "mbytes": 1 << 20}
MAX_PACKET = 65535


def quota_match(limit: int, used: int, over: bool, text: str) -> Statement:
    """A quota is decided by the byte count listed with it (nft_quota.c: the packet's
    length is added, then `consumed >= quota` is "over"): far below or at the limit the
    next packet cannot change the answer; within one packet of it, the packet's size does."""
    if used + MAX_PACKET < limit:
        overquota = False
    elif used >= limit:
        overquota = True
    else:
        return Unknown(text)
    return Match("==", Field("const", "", "true" if overquota == over else "false"), 1)


def _set_types(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, dict) and "typeof" in raw:
        return ("typeof",)
    return tuple(str(t) for t in as_list(raw))


def _named_set(body: dict[str, Any], is_map: bool) -> NamedSet:
    elements: list[Value] = []
    data: list[Value | Verdict] = []
    map_type = str(body.get("map", "")) if is_map else ""
    for raw in as_list(body.get("elem")):
        if is_map and not (isinstance(raw, list) and len(raw) == 2):
            raise ValueError("a map element is not a [key, value] pair")
        if is_map and isinstance(raw, list):
            key, value = raw
            elements.append(parse_value(key))
            if map_type == "verdict" and isinstance(value, dict):
                data.append(parse_verdict(value))
            else:
                data.append(parse_value(value))
        elif isinstance(raw, (str, int)) and not (isinstance(raw, str) and raw.startswith("@")):
            elements.append(raw)  # the common case, already in IR form
        else:
            elements.append(parse_value(raw))
    return NamedSet(
        family=str(body["family"]), table=str(body["table"]), name=str(body["name"]),
        key_types=_set_types(body.get("type")), flags=frozenset(as_list(body.get("flags"))),
        elements=tuple(elements), map_type=map_type, data=tuple(data),
    )


def parse_ruleset(document: dict[str, Any] | str) -> Ruleset:
    """The IR for one `nft -j list ruleset` document; anything malformed (a missing key, a
    wrong type, nesting deeper than Python recurses) is an OperatorError naming the item."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError) as exc:  # ValueError: also a >4300-digit number
            raise OperatorError("the ruleset is not valid JSON",
                                evidence=str(exc)[:200] or "nested too deeply",
                                fix="produce it with: nft -j list ruleset > FILE.json") from exc
    try:
        return _parse_document(document)
    except RecursionError as exc:
        raise OperatorError("the ruleset JSON is nested too deeply to be nft output",
                            fix="produce it with: nft -j list ruleset > FILE.json") from exc


def _parse_document(document: Any) -> Ruleset:
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise OperatorError("the ruleset JSON has no 'nftables' list",
                            fix="produce it with: nft -j list ruleset > FILE.json")
    ruleset = Ruleset()
    tables: dict[tuple[str, str], Table] = {}
    positions: dict[tuple[str, str, str], int] = {}

    def table_of(family: str, name: str) -> Table:
        key = (family, name)
        if key not in tables:
            tables[key] = Table(family, name)
            ruleset.tables.append(tables[key])
        return tables[key]

    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        kind, body = next(iter(item.items()))
        try:
            _parse_item(ruleset, kind, body, table_of, positions)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise OperatorError(
                f"item {number} of the ruleset JSON ({kind!s:.20}) is malformed: "
                f"{type(exc).__name__} {str(exc)[:80]}",
                evidence=_snippet(item),
                fix="produce it with: nft -j list ruleset > FILE.json") from exc
    return ruleset


def _snippet(item: Any) -> str:
    try:
        return json.dumps(item)[:200]
    except (TypeError, ValueError, RecursionError):
        return repr(item)[:200]


def _text(value: Any) -> str:
    """A name field (family, table, chain...): nft writes strings; anything else is malformed."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"expected a name, got {type(value).__name__}")
    return str(value)


def _parse_item(ruleset: Ruleset, kind: str, body: Any, table_of: Any,
                positions: dict[tuple[str, str, str], int]) -> None:
    if kind == "metainfo":
        ruleset.nft_version = str(body.get("version", ""))
        return
    if kind not in ("table", "chain", "set", "map", "ct helper", "rule", "quota"):
        return
    family = _text(body["family"])
    if kind == "table":
        table_of(family, _text(body["name"])).handle = body.get("handle")
        return
    table = table_of(family, _text(body["table"]))
    if kind == "chain":
        name = _text(body["name"])
        chain = table.chains.setdefault(name, Chain(family, table.name, name))
        chain.handle = body.get("handle")
        if "hook" in body:
            chain.hook = _text(body["hook"])
            prio = body.get("prio", 0)
            chain.prio = int(prio) if isinstance(prio, int) else 0
            chain.policy = _text(body.get("policy", "accept"))
            chain.type = _text(body.get("type", "filter"))
            chain.devices = tuple(_text(d) for d in as_list(body.get("dev")))
    elif kind in ("set", "map"):
        table.sets[_text(body["name"])] = _named_set(body, kind == "map")
    elif kind == "quota":
        table.quotas[_text(body["name"])] = (int(body.get("bytes", 0)),
                                             int(body.get("used", 0)), bool(body.get("inv")))
    elif kind == "ct helper":
        name = _text(body["name"])
        table.helpers[name] = HelperObject(family, table.name, name,
                                           str(body.get("type", "")),
                                           str(body.get("protocol", "")))
    else:
        chain_name = _text(body["chain"])
        chain = table.chains.setdefault(chain_name, Chain(family, table.name, chain_name))
        key = (family, table.name, chain_name)
        positions[key] = positions.get(key, 0) + 1
        raw_exprs = as_list(body.get("expr"))
        if any(isinstance(e, dict) and "xt" in e for e in raw_exprs):
            table.has_xt = True
        statements = tuple(_statement(e, table) for e in raw_exprs)
        handle = body.get("handle")
        chain.rules.append(Rule(
            family=family, table=table.name, chain=chain_name,
            handle=handle if isinstance(handle, int) and not isinstance(handle, bool) else None,
            position=positions[key], statements=statements,
            text="", comment=str(body.get("comment", "")), raw=raw_exprs,
        ))


__all__ = ["as_list", "parse_expr", "parse_ruleset", "parse_statement", "parse_value",
           "render_value"]
