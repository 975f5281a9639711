"""Read a running app's screen as a person sees it (from Textual's own screenshot)."""

from __future__ import annotations

import html
import re
from typing import Any

from textual.app import App


def visible_text(app: App[Any]) -> str:
    """The screen's text, one line per terminal row, markup-free."""
    svg = app.export_screenshot()
    rows: dict[str, list[tuple[float, str]]] = {}
    for match in re.finditer(
        r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg
    ):
        x, y, body = float(match.group(1)), match.group(2), match.group(3)
        rows.setdefault(y, []).append((x, html.unescape(body).replace("\xa0", " ")))
    lines = []
    for y in sorted(rows, key=float):
        lines.append("".join(part for _, part in sorted(rows[y])))
    return "\n".join(lines)
