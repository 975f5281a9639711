"""LiveTable: a DataTable fed by diffs, with fixed widths and a cursor that follows its row.

Measured costs (reference textual-practice.md §2.2) drive the rules here: never
update_width on a live table, touch only cells whose text changed, clear and re-add when
many rows go (remove_row is O(rows)), and re-select the cursor's row *key* after a sort or
removal (the DataTable cursor is index based). Cells are rich Text, never markup: AMI
values are attacker-controlled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from trunkconsole.tui.plain import plain

Cells = tuple[Text, ...]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
CLEAR_RATIO = 0.3  # above this share of stale rows, clear() and re-add
TEXT_CELLS_KEPT = 4096  # rendered cells remembered by their text (a few screens' worth)


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


class LiveTable(DataTable[Text]):
    """Rows by key; `sync()` applies a complete picture, touching only what changed."""

    def __init__(self, columns: Sequence[Column], *, sort_index: int | None = 0,
                 sort_reverse: bool = False, **kwargs: Any) -> None:
        # Before DataTable's __init__: it already clears its caches (and so ours).
        self._text_cells: LRUCache[tuple[Any, ...], list[list[Segment]]] = LRUCache(
            TEXT_CELLS_KEPT)
        self._row_styles: dict[tuple[int, Any, str], Style] = {}
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.spec = tuple(columns)
        self._values: dict[str, Cells] = {}  # every row as last synced
        self._shown: dict[str, Cells] = {}  # what the DataTable holds for it
        self._pending: set[str] = set()  # rows whose DataTable copy lags _values
        self.sort_index = sort_index
        self.sort_reverse = sort_reverse
        # A column whose text changes with the clock alone (a call's duration): refreshed
        # for the rows on screen only, and for every row just before it is sorted on.
        self._volatile: tuple[int, Callable[[str], Text]] | None = None
        self.viewport_moved = False

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        # The screen's first refresh can run before this widget's Mount.
        if not self.columns:
            for column in self.spec:
                self.add_column(plain(column.label), width=column.width, key=column.key)

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # cursor outside the table while it is being rebuilt
            return None
        return None if row_key.value is None else str(row_key.value)

    def sync(self, rows: Mapping[str, Cells], only: set[str] | None = None) -> bool:
        """Make the table show exactly `rows`; `only` limits the compare to those keys
        (plus additions and removals). Returns True when anything changed.

        A changed row off screen is only remembered: any update_cell repaints every
        visible cell (DataTable drops its whole render cache), so off-screen rows are
        written when they scroll into view or before a sort needs them.
        """
        self._ensure_columns()
        selected = self.selected_key()
        cursor_row = self.cursor_row
        stale = [key for key in self._values if key not in rows]
        resort = changed = bool(stale)
        if stale and len(stale) > CLEAR_RATIO * max(1, len(self._values)):
            self.clear()
            self._values.clear()
            self._shown.clear()
            self._pending.clear()
        else:
            for key in stale:
                self.remove_row(key)
                del self._values[key]
                self._shown.pop(key, None)
                self._pending.discard(key)
        volatile = self._volatile[0] if self._volatile is not None else None
        for key in (rows if only is None else [k for k in rows if k in only
                                                 or k not in self._values]):
            cells = rows[key]
            old = self._values.get(key)
            self._values[key] = cells
            if old is None:
                self.add_row(*cells, key=key)
                self._shown[key] = cells
                resort = changed = True
                continue
            for index, (before, after) in enumerate(zip(old, cells, strict=True)):
                if before.plain != after.plain or before.style != after.style:
                    changed = True
                    self._pending.add(key)
                    # A duration grows on every row alike: it never reorders them.
                    resort = resort or (index == self.sort_index and index != volatile)
        if resort:  # the order depends only on the sort column and the set of rows
            self.apply_sort()
        self.show_pending()
        if changed:
            self._restore_cursor(selected, cursor_row)
        return changed

    def _write(self, key: str) -> bool:
        """Bring the DataTable's copy of row `key` up to `_values`; True if it changed."""
        self._pending.discard(key)
        cells, shown = self._values.get(key), self._shown.get(key)
        if cells is None or shown is None or cells is shown:
            return False
        written = False
        for index, (before, after) in enumerate(zip(shown, cells, strict=True)):
            if before.plain != after.plain or before.style != after.style:
                self.update_cell(key, self.spec[index].key, after)
                written = True
        self._shown[key] = cells
        return written

    def show_pending(self, *, every_row: bool = False) -> bool:
        """Write the remembered changes of the rows on screen (or of all rows)."""
        if not self._pending:
            return False
        keys = list(self._pending) if every_row else [
            k for k in self.visible_keys() if k in self._pending]
        written = False
        for key in keys:
            written = self._write(key) or written
        return written

    def get_row(self, row_key: RowKey | str) -> list[Text]:
        """The row's cells as last synced (also for a row off screen)."""
        cells = self._values.get(str(row_key.value if isinstance(row_key, RowKey)
                                     else row_key))
        return list(cells) if cells is not None else super().get_row(row_key)

    def set_volatile(self, column: str, compute: Callable[[str], Text]) -> None:
        """Column `column` of row `key` reads `compute(key)` now (a duration)."""
        self._volatile = ([c.key for c in self.spec].index(column), compute)

    def visible_keys(self) -> list[str]:
        """Keys of the rows on screen (rows are one line high)."""
        if not self.row_count:
            return []
        first = max(0, int(self.scroll_offset.y))
        return [str(row.key.value) for row in self.ordered_rows[first:first + self.size.height]]

    def refresh_volatile(self, *, every_row: bool = False) -> bool:
        """Recompute the volatile column for the rows on screen (or all), and write the
        remembered changes of the rows on screen; True if anything was written."""
        self.viewport_moved = False
        if self._volatile is None or not self.row_count:
            return self.show_pending()
        index, compute = self._volatile
        for key in (list(self._values) if every_row else self.visible_keys()):
            cells = self._values.get(key)
            if cells is None:
                continue
            after = compute(key)
            if cells[index].plain != after.plain:
                self._values[key] = (*cells[:index], after, *cells[index + 1:])
                self._pending.add(key)
        return self.show_pending(every_row=every_row)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style,
                     width: int, cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """DataTable's cell rendering, remembered by the cell's text as well.

        DataTable keys its render cache on a table-wide update count, so one changed
        cell (a call's duration, once a second) re-renders every cell on screen; the
        same text at the same place renders the same, so it is reused from here.
        """
        if row_index < 0 or column_index < 0:  # header and row labels: as DataTable does
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cell = None if row_key is None or column_key is None else \
            self._data[row_key][column_key]
        if row_key is None or not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        key = (cell.plain, tuple(cell.spans), cell.style, cell.justify, cell.overflow,
               row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self._pseudo_class_state, self.show_cursor,
               self.rows[row_key].height, self.app.theme)
        lines = self._text_cells.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width,
                                         cursor, hover)
            self._text_cells[key] = lines
        return lines

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        """The zebra stripe of a row, computed once per parity (DataTable asks the DOM
        for it on every line it renders)."""
        if row_index < self.fixed_rows or not self.zebra_stripes:
            return super()._get_row_style(row_index, base_style)
        # Keyed by theme too: a theme switch reaches the render before the cache clear.
        key = (row_index % 2, self._pseudo_class_state, self.app.theme)
        style = self._row_styles.get(key)
        if style is None:
            style = self._row_styles[key] = super()._get_row_style(row_index, base_style)
        return style

    def _clear_caches(self) -> None:
        super()._clear_caches()  # styles, theme, padding, cursor kind changed
        self._text_cells.clear()
        self._row_styles.clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.viewport_moved = True

    def apply_sort(self) -> None:
        if self.sort_index is None or not self.row_count:
            return
        if self._volatile is not None and self._volatile[0] == self.sort_index:
            self.refresh_volatile(every_row=True)  # off-screen rows hold older text
        else:
            self.show_pending(every_row=True)  # the sort reads the DataTable's copy
        column = self.spec[self.sort_index]
        self.sort(column.key, key=lambda cell: column.sort_key(cell.plain),
                  reverse=self.sort_reverse)

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
        if not self.row_count:
            return
        if key is not None and key in self._values:
            self.move_cursor(row=self.get_row_index(RowKey(key)), animate=False)
        else:
            self.move_cursor(row=min(fallback_row, self.row_count - 1), animate=False)
