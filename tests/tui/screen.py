"""Read a running app's screen as a person sees it (from Textual's own screenshot)."""

from __future__ import annotations

import asyncio
import html
import os
import re
from pathlib import Path
from typing import Any

from textual.app import App


def put_fixed(path: Path, content: bytes) -> None:
    """Write a fixed-path file the way other xdist workers may read it at the same moment:
    unchanged content is left alone, new content replaces the file in one rename (a
    truncate-then-write let a parallel snapshot read an empty or half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(content)
    os.replace(temp, path)


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


async def settle(pilot: Any, timeout: float = 3.0) -> None:
    """Wait until the screen stops changing: workers done and two frames alike.

    The footer follows focus changes a refresh later, and pushed screens mount over a few
    ticks: a snapshot taken at the first idle moment is not always the final picture.
    """
    app = pilot.app
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause(0.4)  # longer than one refresh tick of the app (3 Hz)
    previous = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        frame = app.export_screenshot()
        if frame == previous:
            return
        previous = frame
