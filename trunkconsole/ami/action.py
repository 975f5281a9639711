"""Checked AMI actions: nothing we send can smuggle in a header or a second action.

AMI frames are `Key: Value` lines ended by CRLF and a blank line (main/manager.c): a CR or
LF inside a value would start a new header, or a new action, on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from trunkconsole.errors import OperatorError

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
# CR and LF end a header on the wire; the other C0 controls, DEL and the Unicode line
# separators have no business in an AMI value and some tools split lines on them.
_BAD_VALUE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")

Value = str | int | Sequence[str]


class AmiActions(Protocol):
    """What readers and the change engine need of an AMI session (AmiConnection fits)."""

    async def action(self, fields: dict[str, Value]) -> Any: ...

    async def command(self, cli: str) -> list[str]: ...


def check_value(key: str, value: str, *, secret: bool = False) -> str:
    """Return value unchanged, or refuse it when it could break AMI framing.

    The one check every action builder uses; a secret is never quoted in the error.
    """
    if _BAD_VALUE.search(value):
        raise OperatorError(
            f"refused to send AMI field {key}: it contains a line break or control character",
            evidence="(secret not shown)" if secret else repr(value[:80]),
            fix="remove CR/LF and control characters from the value",
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
