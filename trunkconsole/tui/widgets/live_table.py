"""LiveTable: a sortable LineTable fed by diffs, drawn from cached cells.

Textual's DataTable keys its render caches on one table-wide update counter, so one
changed cell (a call's duration, once a second) re-renders every visible line through a
Rich console: with 500 calls on screen that was most of the idle console's CPU (issue
12: 9-10% of a core, ~45% in `_render_line_in_row`). Here each cell is rendered once
into a Strip when it changes, a row's line is the join of its cells' strips, and a
change repaints that one line if it is on screen; the cursor and the zebra stripe are
styles applied when the line is drawn. Rows are kept by key; `sync()` applies a complete
picture and touches only what changed; the cursor follows its row's key across sorts
and removals. Cells are rich Text, never markup: AMI values are attacker-controlled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip

from trunkconsole.tui.plain import plain
from trunkconsole.tui.widgets.line_table import LineTable

Cells = tuple[Text, ...]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
PADDING = 1  # blank cells either side of a cell's text, as DataTable draws them


def text_key(plain: str) -> Any:
    return plain.casefold()


def clock_key(plain: str) -> Any:
    """`1:02:03` / `2:03` as seconds."""
    total = 0
    for part in plain.split(":"):
        if not part.isdigit():
            return 0
        total = total * 60 + int(part)
    return total


def number_key(plain: str) -> Any:
    """Numbers first in numeric order; blanks and dashes last."""
    match = _NUMBER.search(plain)
    return (0, float(match.group())) if match else (1, 0.0)


@dataclass(frozen=True)
class Column:
    """A column: key, header, fixed width, and how its text sorts."""

    key: str
    label: str
    width: int
    sort_key: Callable[[str], Any] = text_key


class LiveTable(LineTable):
    """Rows by key; `sync()` applies a complete picture, touching only what changed."""

    DEFAULT_CSS = """
    LiveTable { height: auto; max-height: 100%; }
    LiveTable:focus { background-tint: $foreground 5%; }
    LiveTable:focus > .line-table--header { background-tint: $foreground 5%; }
    LiveTable > .live-table--even-row { background: $surface-lighten-1 50%; }
    LiveTable:dark > .live-table--even-row { background: $surface-darken-1 40%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {*LineTable.COMPONENT_CLASSES,
                                             "live-table--even-row"}
    exact_height: ClassVar[bool] = True

    def __init__(self, columns: Sequence[Column], *, sort_index: int | None = 0,
                 sort_reverse: bool = False, id: str | None = None) -> None:
        self.spec = tuple(columns)
        super().__init__([(c.label, c.width) for c in self.spec], id=id)
        self._index_of = {c.key: i for i, c in enumerate(self.spec)}
        self._added: dict[str, None] = {}  # keys in the order they were added (sort ties)
        self._pieces: dict[str, list[list[Segment] | None]] = {}  # rendered cells per row
        # The same in the style the row was last drawn with: a changed cell (a duration
        # ticking) restyles only itself when its line is drawn again.
        self._styled: dict[str, tuple[Style, list[list[Segment] | None]]] = {}
        # Each row's line as last drawn, with the (style, left, right) it was drawn for.
        self._drawn: dict[str, tuple[tuple[Style, int, int], Strip]] = {}
        self._header: Strip | None = None
        self._cell_x: list[int] = []  # where each column starts in a line
        x = 0
        for column in self.spec:
            self._cell_x.append(x)
            x += column.width + 2 * PADDING
        self._line_width = x
        self.sort_index = sort_index
        self.sort_reverse = sort_reverse
        # A column whose text changes with the clock alone (a call's duration): refreshed
        # for the rows on screen only, and for every row just before it is sorted on.
        self._volatile: tuple[int, Callable[[str], str]] | None = None
        self.viewport_moved = False
        # Called with the sort column's index just before the rows are sorted on it: the
        # owner brings cells it keeps up to date only on screen (figures) up to date.
        self.before_sort: Callable[[int], None] | None = None
        # (row, column index) of the cells to repaint at the end of a sync
        self._batch: set[tuple[int, int]] | None = None

    # -- data ------------------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Row keys in display order (a copy)."""
        return list(self._keys)

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        return self.cursor_key

    def get_row(self, key: str) -> list[Text]:
        """The row's cells as last synced."""
        return list(self._cells[self._position[key]])

    def get_cell(self, key: str, column: str) -> Text:
        return self._cells[self._position[key]][self._index_of[column]]

    def update_cell(self, key: str, column: str, value: Text) -> None:
        """Set one cell; only that cell is rendered again, when its row is drawn."""
        row = self._position[key]
        index = self._index_of[column]
        self._cells[row][index] = value
        pieces = self._pieces.get(key)
        if pieces is not None:
            pieces[index] = None
        styled = self._styled.get(key)
        if styled is not None:
            styled[1][index] = None
        self._drawn.pop(key, None)
        if self._batch is None:
            self.refresh_row(row)
        else:
            self._batch.add((row, index))

    def _repaint(self, cells: set[tuple[int, int]]) -> None:
        """Repaint the cells of a batch that are on screen, each only where it is: a
        ticking duration sends its few columns to the terminal, not the whole line."""
        top = round(self.scroll_offset.y)
        bottom = top + self.page_rows
        left = round(self.scroll_offset.x)
        regions = [Region(self._cell_x[index] - left, row + 1 - top,
                          self.spec[index].width + 2 * PADDING, 1)
                   for row, index in cells if top <= row < bottom]
        if regions:
            self.refresh(*regions)

    def sync(self, rows: Mapping[str, Cells], only: set[str] | None = None) -> bool:
        """Make the table show exactly `rows`; `only` limits the compare to those keys
        (plus additions and removals). Returns True when anything changed."""
        return self._batched(lambda: self._apply(rows, only))

    def update_rows(self, rows: Mapping[str, Cells]) -> bool:
        """Compare and update only these rows (keys not in the table are ignored): the
        set of rows stays as it is. Returns True when anything changed."""

        def update() -> bool:
            changed, resort = self._compare(rows, [k for k in rows if k in self._position])
            if resort:
                self.apply_sort()
            return changed

        return self._batched(update)

    def _batched(self, apply: Callable[[], bool]) -> bool:
        """Run `apply`, then repaint the cells it changed (those on screen) at once."""
        selected = self.selected_key()
        cursor_row = self.cursor_row
        batch: set[tuple[int, int]] = set()
        self._batch = batch
        try:
            changed = apply()
        finally:
            self._batch = None
        if changed:
            self._repaint(batch)
            self._restore_cursor(selected, cursor_row)
        return changed

    def _apply(self, rows: Mapping[str, Cells], only: set[str] | None) -> bool:
        stale = [key for key in self._added if key not in rows]
        if stale:
            for key in stale:
                del self._added[key]
            self.remove_rows(stale)
        position = self._position
        fresh = [(key, rows[key]) for key in rows if key not in position]
        changed, resort = self._compare(rows, [k for k in (rows if only is None else only)
                                               if k in position and k in rows])
        if fresh:
            self._added.update(dict.fromkeys(key for key, _c in fresh))
            self.add_rows(fresh)
        if resort or stale or fresh:  # the order depends only on the sort column and the
            self.apply_sort()         # set of rows
        return changed or bool(stale or fresh)

    def _compare(self, rows: Mapping[str, Cells], keys: Iterable[str]) -> tuple[bool, bool]:
        """Update the cells of `keys` (rows in the table) that differ from `rows`: (any
        changed, a sort cell changed)."""
        volatile = self._volatile[0] if self._volatile is not None else None
        changed = resort = False
        cells, position = self._cells, self._position
        for key in keys:
            old = cells[position[key]]
            for index, (before, after) in enumerate(zip(old, rows[key], strict=True)):
                if index == volatile:
                    continue  # refresh_volatile keeps it (a duration: never a reorder)
                if before.plain != after.plain or before.style != after.style \
                        or before.spans != after.spans:
                    changed = True
                    self.update_cell(key, self.spec[index].key, after)
                    resort = resort or index == self.sort_index
        return changed, resort

    def clear(self) -> None:
        super().clear()
        self._added.clear()
        self._pieces.clear()
        self._styled.clear()

    def _forget(self, key: str) -> None:
        super()._forget(key)
        self._pieces.pop(key, None)
        self._styled.pop(key, None)
        self._drawn.pop(key, None)

    # -- the clock-driven column -------------------------------------------------------
    def set_volatile(self, column: str, compute: Callable[[str], str]) -> None:
        """Column `column` of row `key` reads `compute(key)` now (a duration: text we
        format ourselves, never from the far end)."""
        self._volatile = (self._index_of[column], compute)

    def visible_keys(self) -> list[str]:
        """Keys of the rows on screen (rows are one line high)."""
        first = max(0, round(self.scroll_offset.y))
        return self._keys[first:first + self.page_rows]

    def refresh_volatile(self, *, every_row: bool = False) -> bool:
        """Recompute the volatile column for the rows on screen (or all); True if any
        cell changed."""
        self.viewport_moved = False
        if self._volatile is None or not self._keys:
            return False
        index, compute = self._volatile
        column = self.spec[index].key
        written = False
        outer, self._batch = self._batch, set()
        try:
            for key in (list(self._keys) if every_row else self.visible_keys()):
                after = compute(key)
                if self._cells[self._position[key]][index].plain != after:
                    self.update_cell(key, column, plain(after))
                    written = True
        finally:
            batch, self._batch = self._batch, outer
        if outer is not None:
            outer.update(batch)
        else:
            self._repaint(batch)
        return written

    def reorder(self, keys: Sequence[str]) -> None:
        super().reorder(keys)
        self.viewport_moved = True  # other rows may show

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.viewport_moved = True

    def _resized(self) -> None:
        super()._resized()
        self.viewport_moved = True  # more (or other) rows may show

    # -- drawing -----------------------------------------------------------------------
    @property
    def line_width(self) -> int:
        return self._line_width

    def _compute_styles(self) -> tuple[Style, ...]:
        """(base, header, cursor, even row)."""
        base, header, cursor = super()._compute_styles()[:3]
        return base, header, cursor, base + self.get_component_rich_style(
            "live-table--even-row")

    def _row_style(self, row: int, styles: tuple[Style, ...]) -> Style:
        if row == self.cursor_row:
            return styles[2]
        return styles[0] if row % 2 else styles[3]  # DataTable's zebra: row 0 is even

    def forget_rendered(self) -> None:
        super().forget_rendered()
        self._pieces.clear()
        self._styled.clear()
        self._drawn.clear()
        self._header = None

    def _piece(self, cell: Text, width: int) -> list[Segment]:
        """One cell drawn at its column's width: padded, cut with an ellipsis, in the
        cell's own style (Text.render drops a Text's base style when it has no spans:
        Reachable green and Unreachable bold red went plain that way)."""
        console = self.app.console
        text = cell.plain
        base = console.get_style(cell.style) if cell.style else None
        if not cell.spans and len(text) <= width and text.isascii() and text.isprintable():
            # Most cells (a duration, every second): one cell per character, no cut.
            return [Segment(f"{'':{PADDING}}{text:{width + PADDING}}", base)]
        # Callers pass plain() Text; a control character that slipped through is shown
        # escaped, never sent to the terminal.
        piece = cell.copy() if text.isprintable() else plain(text, style=cell.style)
        piece.no_wrap = True
        piece.end = ""
        piece.truncate(width, overflow="ellipsis", pad=True)
        piece.pad(PADDING)
        segments = list(piece.render(console))
        return list(Segment.apply_style(segments, base)) if base and not piece.spans \
            else segments

    def _header_strip(self) -> Strip:
        if self._header is None:
            self._header = Strip([s for c in self.spec for s in self._piece(plain(c.label),
                                                                            c.width)],
                                 self.line_width)
        return self._header

    def _styled_row(self, row: int, key: str, style: Style, left: int, right: int) -> Strip:
        drawn = self._drawn.get(key)
        if drawn is not None and drawn[0] == (style, left, right):
            return drawn[1]
        strip = self._draw_row(row, key, style, left, right)
        self._drawn[key] = ((style, left, right), strip)
        return strip

    def _draw_row(self, row: int, key: str, style: Style, left: int, right: int) -> Strip:
        """The row's line from its cells' cached segments, in one Strip (two when cut):
        only a changed cell is rendered and styled again."""
        cells = self._cells[row]
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self._pieces[key] = [None] * len(self.spec)
        styled = self._styled.get(key)
        if styled is None or styled[0] is not style:  # the cursor or the stripe moved
            styled = self._styled[key] = (style, [None] * len(self.spec))
        parts = styled[1]
        segments: list[Segment] = []
        for index, part in enumerate(parts):
            if part is None:
                piece = pieces[index]
                if piece is None:
                    piece = pieces[index] = self._piece(cells[index], self.spec[index].width)
                # Fewer segments: less for the compositor to cut and filter on every draw.
                part = parts[index] = list(Segment.simplify(
                    Segment(text, style + cell_style if cell_style else style)
                    for text, cell_style, _control in piece))
            if segments and part and segments[-1].style is part[0].style:
                segments[-1] = Segment(segments[-1].text + part[0].text, part[0].style)
                segments += part[1:]
            else:
                segments += part
        width = self.line_width
        if right > width:
            fill = " " * (right - width)
            if segments and segments[-1].style is style:
                segments[-1] = Segment(segments[-1].text + fill, style)
            else:
                segments.append(Segment(fill, style))
            width = right
        strip = Strip(segments, width)
        return strip.crop(left, right) if left or right < width else strip

    # -- sorting -----------------------------------------------------------------------
    def apply_sort(self) -> None:
        if self.sort_index is None or not self._keys:
            return
        if self._volatile is not None and self._volatile[0] == self.sort_index:
            self.refresh_volatile(every_row=True)  # off-screen rows hold older text
        if self.before_sort is not None:
            self.before_sort(self.sort_index)
        index = self.sort_index
        sort_key = self.spec[index].sort_key
        cells, position = self._cells, self._position
        # From the order of addition, as DataTable sorted: ties keep that order.
        order = sorted(self._added, key=lambda k: sort_key(cells[position[k]][index].plain),
                       reverse=self.sort_reverse)
        if order != self._keys:
            self.reorder(order)

    def cycle_sort(self) -> str:
        """Sort by the next column (then none); returns a description."""
        self.sort_index = 0 if self.sort_index is None else self.sort_index + 1
        if self.sort_index >= len(self.spec):
            self.sort_index = None
        selected, row = self.selected_key(), self.cursor_row
        self.apply_sort()
        self._restore_cursor(selected, row)
        return self.sort_label()

    def reverse_sort(self) -> str:
        self.sort_reverse = not self.sort_reverse
        selected, row = self.selected_key(), self.cursor_row
        self.apply_sort()
        self._restore_cursor(selected, row)
        return self.sort_label()

    def sort_label(self) -> str:
        if self.sort_index is None:
            return "unsorted"
        arrow = "descending" if self.sort_reverse else "ascending"
        return f"by {self.spec[self.sort_index].label} {arrow}"

    def _restore_cursor(self, key: str | None, fallback_row: int) -> None:
        if not self._keys:
            return
        row = self._position.get(key, -1) if key is not None else -1
        row = row if row >= 0 else min(fallback_row, len(self._keys) - 1)
        if row != self.cursor_row or self.cursor_key != self._announced:
            self.move_cursor(row)  # (it scrolls to the cursor: not when it stayed put)
