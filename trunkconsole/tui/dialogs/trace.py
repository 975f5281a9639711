"""Trace one provider address through the kernel's rules (the `firewall trace` twin).

The temporary table is made and removed by changes/trace.py (a guard removes it if the
console dies); the trace runs in a thread worker, and closing the dialog stops it.
Packet and rule texts come from the kernel's trace: shown as plain text only.
"""

from __future__ import annotations

import os
import threading
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from trunkconsole.changes.trace import TraceRun, TraceSpec, trace_packets
from trunkconsole.errors import OperatorError
from trunkconsole.private import state_dir
from trunkconsole.tui.plain import plain_lines

SECONDS = 60.0


class TraceDialog(ModalScreen[None]):
    """The kernel's answer for the next packet from one address."""

    DEFAULT_CSS = """
    TraceDialog { align: center middle; }
    TraceDialog > Vertical { width: 90%; height: auto; max-height: 90%; border: round $primary;
                             background: $surface; padding: 0 1; }
    TraceDialog VerticalScroll { height: auto; max-height: 30; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close (stops the trace)", id="trace-close"),
    ]

    def __init__(self, src: str, readonly: bool) -> None:
        super().__init__()
        self.src = src
        self.readonly = readonly
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_lines(f"Tracing the next packet from {self.src} for up to "
                                     f"{SECONDS:.0f} s (a temporary nftables table, removed "
                                     "afterwards)...", style="bold"), id="trace-head",
                         markup=False)
            with VerticalScroll():
                yield Static(id="trace-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._trace()

    @work(thread=True, exclusive=True, exit_on_error=False, group="trace")
    def _trace(self) -> None:
        try:
            result = trace_packets(TraceSpec(self.src, None, None, SECONDS), state_dir(None),
                                   readonly=self.readonly, follow_pid=os.getpid(),
                                   stop=self.stop)
        except OperatorError as exc:
            self.app.call_from_thread(self._show_error, exc.render())
            return
        except Exception as exc:  # the dialog says it; the table is already removed
            self.app.call_from_thread(self._show_error, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, result)

    def _show_error(self, message: str) -> None:
        self.query_one("#trace-text", Static).update(plain_lines(message, style="bold red"))

    def _show(self, result: TraceRun) -> None:
        text = Text()
        if not result.packets:
            text.append_text(plain_lines(f"no packet from {self.src} arrived in "
                                         f"{SECONDS:.0f} s; static verdict: {result.static}\n",
                                         style="yellow"))
        for item in result.packets:
            style = "bold red" if item["dropped"] else "bold green"
            text.append_text(plain_lines(item["packet"] + "\n"))
            text.append_text(plain_lines("kernel: " + item["kernel"] + "\n", style=style))
            text.append_text(plain_lines(
                "static: " + item["static"]
                + ("   (agrees)" if item["agrees"] else "   (differs)") + "\n"))
            text.append_text(plain_lines("path:   " + (" -> ".join(item["path"]) or
                                                      "no rule met it") + "\n"))
        text.append_text(plain_lines(f"trace table {result.table} removed", style="dim"))
        self.query_one("#trace-text", Static).update(text)

    def action_close(self) -> None:
        self.stop.set()
        self.dismiss()
