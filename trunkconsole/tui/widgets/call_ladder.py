"""The SIP logger's calls view: calls by Call-ID, the selected call's ladder, raw messages.

Messages arrive in batches from the logger's poll; only the calls they touched get their
row redrawn (LineTable: one cached line per row, only visible rows drawn), and the
ladder is redrawn only when the selected call changed and the cursor has rested for
LADDER_SETTLE seconds (holding a key down renders the calls table only, not a ladder per
row passed), so a burst of 100 calls does not stall the keyboard. Every SIP value goes in
as Text (never markup), made printable first (calls/sip.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from trunkconsole.calls.ladder import CallFlow, CallIndex, Rung, arrow, did_numbers
from trunkconsole.calls.nat import analyse
from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.errors import OperatorError
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.widgets.line_table import LineTable
from trunkconsole.visible import visible

ARROW = 30
MAX_CALLS = 5000
CALL_COLUMNS = (("", 1), ("time", 8), ("dir", 3), ("caller", 14), ("called", 14),
                ("answer", 20), ("msgs", 4), ("Call-ID", 36))
LADDER_COLUMNS = (("time", 5), ("provider <-> PBX", ARROW + 2), ("SDP / note", 60))
LADDER_SETTLE = 0.08  # seconds the cursor rests on a call before its ladder is drawn


def _text(value: str, style: str = "") -> Text:
    """Untrusted SIP text, every control character shown as an escape (visible.py)."""
    return plain(value, style=style)


class RawMessageScreen(ModalScreen[None]):
    """One SIP message as Asterisk printed it."""

    DEFAULT_CSS = """
    RawMessageScreen { align: center middle; }
    RawMessageScreen > VerticalScroll { width: 90%; height: 90%; border: round $primary;
                                        background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "app.pop_screen", "Back", id="raw-back"),
    ]

    def __init__(self, message: SipMessage) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        message = self.message
        way = "received from" if message.received else "sent to"
        stamp = time.strftime("%H:%M:%S", time.localtime(message.timestamp))
        with VerticalScroll():
            yield Static(plain_lines(f"#{message.number} {way} {message.address} at "
                                     f"{stamp}\n\n{message.text}"),
                         markup=False, id="raw-text")
        yield Footer()


class LadderHead(Widget):
    """The selected call's head lines, in a fixed height: a Static's update re-lays out
    the whole screen (its height may change), this one repaints itself only."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def update(self, text: Text) -> None:
        self._text = text
        self.refresh()


class CallLadder(Vertical):
    """Calls (search by number, space marks for export) above the selected call's ladder."""

    DEFAULT_CSS = """
    CallLadder #calls-search { height: 1; border: none; padding: 0 1; }
    CallLadder #calls { height: 2fr; min-height: 4; }
    CallLadder #ladder-head { height: 4; padding: 0 1; color: $text-muted; }
    CallLadder #ladder { height: 3fr; min-height: 5; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark", id="calls-mark"),
        Binding("e", "export", "Export pcap", id="calls-export"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = CallIndex()
        self.marked: set[str] = set()
        self.needle = ""
        self.selected: str | None = None
        self.export_dir = Path.cwd()
        self._pending_draw: Timer | None = None
        self._head: Text | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search a number (any header) or Call-ID", id="calls-search")
        yield LineTable(CALL_COLUMNS, id="calls")
        yield LadderHead(id="ladder-head")
        yield LineTable(LADDER_COLUMNS, id="ladder")

    # -- feeding ---------------------------------------------------------------------
    def add_messages(self, messages: list[SipMessage]) -> None:
        """File new messages; update the rows of the calls they belong to."""
        touched: dict[str, CallFlow] = {}
        for message in messages:
            flow = self.index.add(message)
            if flow is not None:
                touched[flow.call_id] = flow
        if not touched:
            return
        calls = self.query_one("#calls", LineTable)
        for call_id, flow in touched.items():
            if not flow.matches(self.needle):
                continue
            cells = self._call_cells(flow)
            if call_id in calls:  # a new message changes the answer and the count only
                calls.update_cell(call_id, "answer", cells[5])
                calls.update_cell(call_id, "msgs", cells[6])
            elif calls.row_count < MAX_CALLS:
                calls.add_row(*cells, key=call_id)
        if self.selected is None and calls.row_count:
            self._select(calls.keys[0])
        elif self.selected in touched:
            self._draw_ladder(touched[self.selected])

    def _call_cells(self, flow: CallFlow) -> tuple[Text, ...]:
        outcome = flow.outcome()
        code = outcome.split(" ", 1)[0]
        style = "green" if code.startswith("2") else (
            "bold red" if code[:1] in ("4", "5", "6") else "yellow")
        stamp = time.strftime("%H:%M:%S", time.localtime(flow.first.message.timestamp))
        return (Text("*" if flow.call_id in self.marked else " ", style="bold yellow"),
                plain(stamp), Text("in" if flow.inbound else "out"),
                _text(flow.caller or "?"), _text(flow.called or "?"), _text(outcome, style),
                plain(str(len(flow.rungs))), _text(flow.call_id))

    # -- ladder ----------------------------------------------------------------------
    @property
    def ladder_pending(self) -> bool:
        """True while the cursor has not rested long enough for its ladder to be drawn."""
        return self._pending_draw is not None

    def _select(self, call_id: str, *, settle: float = 0.0) -> None:
        """Show this call's ladder, now or once the cursor rested `settle` seconds."""
        self.selected = call_id
        if self._pending_draw is not None:
            self._pending_draw.stop()
        self._pending_draw = None
        if settle > 0:
            self._pending_draw = self.set_timer(settle, self._draw_selected)
        else:
            self._draw_selected()

    def _draw_selected(self) -> None:
        if self._pending_draw is not None:
            self._pending_draw.stop()
        self._pending_draw = None
        flow = self.index.flows.get(self.selected or "")
        if flow is not None:
            self._draw_ladder(flow)

    def _draw_ladder(self, flow: CallFlow) -> None:
        head = Text()
        head.append(visible(f"{'in' if flow.inbound else 'out'} {flow.call_id}"),
                    style="bold")
        head.append(visible(f"  {flow.peer} <-> {flow.local or '?'}"))
        if flow.invite is not None and (where := did_numbers(flow.invite.sip)):
            head.append("\nnumber dialled: ")
            head.append(visible(", ".join(f"{h} {n}" for h, n in where)))
        for finding in analyse(flow):
            head.append("\nNAT: ", style="yellow")
            head.append(visible(finding.text), style="yellow")
        if head != self._head:  # an unchanged head costs no layout pass
            self._head = head
            self.query_one(LadderHead).update(head)
        ladder = self.query_one("#ladder", LineTable)
        row = ladder.cursor_row
        ladder.clear()
        ladder.add_rows((str(index), self._rung_cells(rung))
                        for index, rung in enumerate(flow.rungs))
        if 0 <= row < ladder.row_count:
            ladder.move_cursor(row)

    @staticmethod
    def _rung_cells(rung: Rung) -> tuple[Text, ...]:
        style = "dim" if rung.retransmission else ("cyan" if rung.from_peer else "magenta")
        status = rung.sip.status
        if status is not None and status >= 300:
            style = "dim red" if rung.retransmission else "bold red"
        mark = "R" if rung.retransmission else " "
        return (plain(f"+{rung.offset}s"),
                _text(mark + arrow(rung, ARROW, ascii_only=False), style),
                _text(rung.note(), "dim" if rung.retransmission else ""))

    @on(LineTable.RowHighlighted, "#calls")
    def _call_highlighted(self, event: LineTable.RowHighlighted) -> None:
        if event.key != self.selected:
            self._select(event.key, settle=LADDER_SETTLE)

    @on(LineTable.RowSelected, "#ladder")
    def _rung_selected(self, event: LineTable.RowSelected) -> None:
        flow = self.index.flows.get(self.selected or "")
        if flow is not None and 0 <= event.cursor_row < len(flow.rungs):  # rows = rungs
            self.app.push_screen(RawMessageScreen(flow.rungs[event.cursor_row].message))

    @on(LineTable.RowSelected, "#calls")
    def _call_chosen(self, _event: LineTable.RowSelected) -> None:
        if self._pending_draw is not None:
            self._draw_selected()
        self.query_one("#ladder", LineTable).focus()

    # -- search, mark, export --------------------------------------------------------
    @on(Input.Changed, "#calls-search")
    def _search(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        calls = self.query_one("#calls", LineTable)
        calls.clear()
        calls.add_rows((flow.call_id, self._call_cells(flow)) for flow in
                       list(self.index.flows.values())[:MAX_CALLS] if flow.matches(self.needle))

    def action_mark(self) -> None:
        calls = self.query_one("#calls", LineTable)
        call_id = calls.cursor_key
        if call_id is None:
            return
        self.marked ^= {call_id}
        calls.update_cell(call_id, "mark", Text("*" if call_id in self.marked else " ",
                                                style="bold yellow"))

    def export(self, path: Path | None = None) -> Path:
        """Write the marked calls (else the selected one) as a pcap; return its path."""
        from trunkconsole.calls.pcap import write_pcap

        ids = [c for c in self.index.flows if c in self.marked] or (
            [self.selected] if self.selected else [])
        flows = [self.index.flows[c] for c in ids if c in self.index.flows]
        if not flows:
            raise OperatorError("no call to export", fix="wait for a call, or mark some")
        target = path or self.export_dir / time.strftime("trunkconsole-calls-%Y%m%d-%H%M%S.pcap")
        write_pcap(flows, target)
        return target

    @work(thread=True, exclusive=True, group="pcap-export", exit_on_error=False)
    def action_export(self) -> None:
        """In a thread: the first export imports scapy, which takes about a second."""
        try:
            target = self.export()
        except (OperatorError, OSError) as exc:
            text = exc.render() if isinstance(exc, OperatorError) else str(exc)
            self.app.call_from_thread(self.notify, text, severity="error", markup=False)
            return
        self.app.call_from_thread(self.notify, f"pcap written: {target}", markup=False,
                                  timeout=6)
