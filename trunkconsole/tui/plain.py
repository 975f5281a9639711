"""Untrusted values as rich Text: never markup, every control character shown visibly."""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text

from trunkconsole.visible import visible, visible_lines


def plain(value: str, style: StyleType = "") -> Text:
    """One line (a caller ID, a name, an AMI value) as Text, controls made visible."""
    return Text(visible(value), style=style)


def plain_lines(value: str, style: StyleType = "") -> Text:
    """A block (an error, a SIP message) as Text: line breaks kept, other controls visible."""
    return Text(visible_lines(value), style=style)
