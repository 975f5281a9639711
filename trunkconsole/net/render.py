"""nft JSON statements back to the text the operator knows from `nft list ruleset`."""

from __future__ import annotations

import json
from typing import Any

_OPS_SILENT = ("==", "in")


def render_value(raw: Any) -> str:
    """A right-hand side: `{ 5060, 5061 }`, `10000-20000`, `@set`, `198.51.100.0/24`."""
    if isinstance(raw, bool):
        return "exists" if raw else "missing"
    if isinstance(raw, (int, str)):
        if isinstance(raw, str) and not raw.startswith("@") and (
            not raw or any(ch in raw for ch in ' "*') or (raw.isalpha() and len(raw) > 12)
        ):
            return json.dumps(raw)
        return str(raw)
    if isinstance(raw, list):
        return ",".join(render_value(v) for v in raw)
    if isinstance(raw, dict) and len(raw) == 1:
        key, body = next(iter(raw.items()))
        if key == "set":
            items = body if isinstance(body, list) else [body]
            rendered = []
            for item in items:
                if isinstance(item, list) and len(item) == 2:
                    rendered.append(f"{render_value(item[0])} : {render_verdict(item[1])}")
                else:
                    rendered.append(render_value(item))
            return "{ " + ", ".join(rendered) + " }"
        if key == "range":
            return f"{render_value(body[0])}-{render_value(body[1])}"
        if key == "prefix":
            return f"{body['addr']}/{body['len']}"
        if key == "concat":
            return " . ".join(render_value(v) for v in body)
        if key == "elem":
            return render_value(body.get("val"))
        if key == "|":
            return " | ".join(render_value(v) for v in body)
    return render_expr(raw)


def render_expr(raw: Any) -> str:
    """A left-hand side: `ip saddr`, `meta l4proto`, `ct state`, `fib saddr . iif oif`."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return render_value(raw) if not isinstance(raw, dict) else json.dumps(raw)
    key, body = next(iter(raw.items()))
    if key == "payload":
        if "protocol" in body:
            return f"{body['protocol']} {body['field']}"
        return f"@{body.get('base')},{body.get('offset')},{body.get('len')}"
    if key == "meta":
        name = body["key"]
        return name if name in ("iif", "iifname", "oif", "oifname", "mark") else f"meta {name}"
    if key == "ct":
        return f"ct {body['key']}"
    if key == "fib":
        flags = " . ".join(body.get("flags", []) if isinstance(body.get("flags"), list)
                           else [body.get("flags")])
        return f"fib {flags} {body['result']}"
    if key == "concat":
        return " . ".join(render_expr(part) for part in body)
    if key in ("&", "|", "^", "<<", ">>"):
        return f"{render_expr(body[0])} {key} {render_value(body[1])}"
    if key == "socket":
        return f"socket {body.get('key')}"
    if key == "exthdr":
        return f"exthdr {body.get('name')} {body.get('field', 'exists')}"
    if key == "map":
        return f"{render_expr(body['key'])} map {render_value(body['data'])}"
    if key == "elem" and isinstance(body, dict) and "val" in body:
        # a dynset element with its own timeout: `ip saddr timeout 2h`
        extra = [f"{k} {body[k]}s" if k in ("timeout", "expires") else f"{k} {body[k]}"
                 for k in body if k != "val"]
        return " ".join([render_expr(body["val"]), *extra])
    if key == "tcp option" and isinstance(body, dict):
        return f"tcp option {body.get('name')} {body.get('field', 'exists')}"
    return f"{key} {json.dumps(body)}"


def render_verdict(raw: Any) -> str:
    if isinstance(raw, dict) and len(raw) == 1:
        key, body = next(iter(raw.items()))
        if key in ("jump", "goto"):
            return f"{key} {body['target']}"
        return str(key)
    return str(raw)


def render_statement(raw: Any) -> str:
    """One statement as nft prints it (close enough to find the rule by eye)."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return json.dumps(raw)
    key, body = next(iter(raw.items()))
    if isinstance(body, str) and key in ("counter", "quota", "limit", "ct count", "synproxy",
                                         "secmark", "ct timeout", "ct expectation"):
        return f'{key} name "{body}"'  # a reference to a named stateful object
    if key == "match":
        op = body["op"]
        left, right = render_expr(body["left"]), render_value(body["right"])
        return f"{left} {right}" if op in _OPS_SILENT else f"{left} {op} {right}"
    if key in ("accept", "drop", "continue", "return", "notrack"):
        return str(key)
    if key in ("jump", "goto"):
        return f"{key} {body['target']}"
    if key == "reject":
        return "reject" if not body else f"reject with {body.get('type', '')} " \
            f"{body.get('expr', '')}".rstrip()
    if key == "vmap":
        return f"{render_expr(body['key'])} vmap {render_value(body['data'])}"
    if key == "counter":
        return "counter"
    if key == "log":
        prefix = (body or {}).get("prefix")
        return f'log prefix "{prefix}"' if prefix else "log"
    if key == "limit":
        over = "over " if body.get("inv") else ""
        unit = body.get("rate_unit", "")
        return f"limit rate {over}{body.get('rate')}{' ' + unit if unit else ''}/" \
            f"{body.get('per', 'second')}"
    if key == "quota":
        over = "over " if body.get("inv") else ""
        return f"quota {over}{body.get('val')} {body.get('val_unit', 'bytes')}"
    if key in ("set", "map"):
        inner = " ".join(render_statement(s) for s in body.get("stmt", []))
        elem = render_expr(body["elem"])
        return f"{body['op']} {body['set']} {{ {elem}{' ' + inner if inner else ''} }}"
    if key == "mangle":
        return f"{render_expr(body['key'])} set {render_value(body['value'])}"
    if key == "ct helper":
        return f'ct helper set "{body}"'
    if key in ("dnat", "snat", "masquerade", "redirect"):
        body = body or {}
        target = body.get("addr", "")
        if isinstance(target, dict):
            target = render_value(target)
        port = f":{body['port']}" if body.get("port") is not None else ""
        if key in ("masquerade",) or not (target or port):
            return str(key)
        return f"{key} to {target}{port}"
    if key == "xt":
        if body is None:
            return "xt ?"
        return f"xt {body.get('type', '')} {body.get('name', '')}"
    if key == "queue":
        return "queue" if not body else f"queue num {body.get('num', '')}".rstrip()
    return f"{key} {json.dumps(body)}" if body is not None else key
