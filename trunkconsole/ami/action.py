"""Checked AMI actions: nothing we send can smuggle in a header or a second action.

AMI frames are `Key: Value` lines ended by CRLF and a blank line (main/manager.c): a CR or
LF inside a value would start a new header, or a new action, on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from trunkconsole.errors import OperatorError

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")

Value = str | int | Sequence[str]


def check_value(key: str, value: str) -> str:
    """Return value unchanged, or refuse it when it could break AMI framing."""
    if _BAD_VALUE.search(value):
        raise OperatorError(
            f"refused to send AMI field {key}: it contains a line break or NUL",
            evidence=repr(value[:80]),
            fix="remove CR/LF from the value",
        )
    return value


def build_action(fields: Mapping[str, Value]) -> dict[str, str | list[str]]:
    """Validate an action's fields; repeated headers are given as lists."""
    if "Action" not in fields:
        raise OperatorError("an AMI action needs an Action field")
    out: dict[str, str | list[str]] = {}
    for key, value in fields.items():
        if not _KEY.match(key):
            raise OperatorError(f"refused to send AMI field name {key!r}")
        if isinstance(value, (str, int)):
            out[key] = check_value(key, str(value))
        else:
            out[key] = [check_value(key, str(v)) for v in value]
    return out
