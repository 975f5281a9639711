"""LineTable: a keyed table of fixed-width Text cells, drawn one cached line per row.

Textual's DataTable renders every cell through a Rich console and drops every cached
line of the table whenever any cell changes (its caches are keyed by one update counter;
textual/widgets/_data_table.py), so a table fed a few times a second under a burst spends
~1-2 ms per visible row on each repaint. Here a row is rendered once into a Strip when it
is added or changed; a repaint only crops the visible rows' cached strips (virtual
scrolling through the Line API), and moving the cursor restyles two lines. Cells are
rich Text (never markup): SIP and AMI values are attacker-controlled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from trunkconsole.tui.plain import plain

Cells = tuple[Text, ...]


class LineTable(ScrollView, can_focus=True):
    """Rows by key under a one-line header; up/down/page/home/end move, Enter selects."""

    DEFAULT_CSS = """
    LineTable { background: $surface; }
    LineTable > .line-table--header { text-style: bold; background: $panel; }
    LineTable > .line-table--cursor { background: $block-cursor-blurred-background; }
    LineTable:focus > .line-table--cursor { background: $block-cursor-background;
                                            color: $block-cursor-foreground; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"line-table--header", "line-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1000000000)", "First", show=False),
        Binding("end", "cursor(1000000000)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    exact_height: ClassVar[bool] = False  # see _resized

    class RowHighlighted(Message):
        """The cursor moved to a row (key, index)."""

        def __init__(self, table: LineTable, key: str, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.cursor_row = cursor_row

        @property
        def control(self) -> LineTable:
            return self.table

    class RowSelected(RowHighlighted):
        """Enter (or a click on the cursor's row)."""

    def __init__(self, columns: Sequence[tuple[str, int]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._column_index = {label: i for i, (label, _w) in enumerate(self.columns)}
        self._keys: list[str] = []
        self._position: dict[str, int] = {}
        self._cells: list[list[Text]] = []
        self._strips: dict[str, Strip] = {}
        self.cursor_row = 0
        self._announced: str | None = None
        # (base, header, cursor) styles: rich_style walks the DOM (~0.3 ms a call), so
        # they are read once per theme or focus change, not per line.
        self._styles: tuple[Style, ...] | None = None
        self._viewport: tuple[int, int, int] | None = None  # during render_lines

    # -- data ------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        return self._keys

    def __contains__(self, key: object) -> bool:
        return key in self._position

    def key_at(self, row: int) -> str | None:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    @property
    def cursor_key(self) -> str | None:
        return self.key_at(self.cursor_row)

    def add_row(self, *cells: Text, key: str) -> None:
        """Append a row (a key already present is updated in place)."""
        if key in self._position:
            self._cells[self._position[key]] = list(cells)
            self._changed(key)
            return
        self._position[key] = len(self._keys)
        self._keys.append(key)
        self._cells.append(list(cells))
        self._resized()
        if len(self._keys) == 1:
            self._announce()

    def add_rows(self, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
        for key, cells in rows:
            self._position[key] = len(self._keys)
            self._keys.append(key)
            self._cells.append(list(cells))
        self._resized()
        self._announce()

    def cells(self, key: str) -> tuple[Text, ...]:
        return tuple(self._cells[self._position[key]])

    def update_cell(self, key: str, column: str, value: Text) -> None:
        row = self._position[key]
        index = self._column_index[column]
        if self._cells[row][index] == value:
            return
        self._cells[row][index] = value
        self._changed(key)

    def clear(self) -> None:
        self._keys.clear()
        self._position.clear()
        self._cells.clear()
        self._strips.clear()
        self._announced = None
        self.cursor_row = 0
        self._resized()

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove rows in one pass (the positions are rebuilt once, not per row)."""
        gone = {k for k in keys if k in self._position}
        if not gone:
            return
        kept = [(k, c) for k, c in zip(self._keys, self._cells, strict=True) if k not in gone]
        self._keys = [k for k, _c in kept]
        self._cells = [c for _k, c in kept]
        self._position = {k: i for i, k in enumerate(self._keys)}
        for key in gone:
            self._forget(key)
        self._resized()

    def reorder(self, keys: Sequence[str]) -> None:
        """Show the rows in this order (the same keys, rearranged): cached lines stay."""
        self._cells = [self._cells[self._position[k]] for k in keys]
        self._keys = list(keys)
        self._position = {k: i for i, k in enumerate(self._keys)}
        self.refresh()

    def move_cursor(self, row: int) -> None:
        self._set_cursor(row)

    # -- rendering -------------------------------------------------------------------
    def _changed(self, key: str) -> None:
        self._strips.pop(key, None)
        self.refresh_row(self._position[key])

    def _forget(self, key: str) -> None:
        """A removed row: drop what was cached for it."""
        self._strips.pop(key, None)

    def refresh_row(self, row: int) -> None:
        """Repaint one row, if it is on screen (an off-screen row draws when it shows)."""
        top = round(self.scroll_offset.y)
        if top <= row < top + self.page_rows:
            self.refresh_line(row + 1)  # virtual line: the header is line 0

    @property
    def page_rows(self) -> int:
        """Rows on screen: the region less the header (and a horizontal scrollbar)."""
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def line_width(self) -> int:
        """The width of a whole row."""
        return sum(w + 1 for _l, w in self.columns)

    def _resized(self) -> None:
        # virtual_size is a layout reactive: a new value re-lays out the whole screen. A
        # table shorter than its region keeps the region's height (no scrolling either way),
        # so redrawing a short ladder costs no layout pass. With exact_height the virtual
        # height is the rows' (a table of height auto shrinks with them, and a table whose
        # region settles over a few layouts never shows a scrollbar for a stale height).
        rows = len(self._keys) + 1
        if not self.exact_height:
            rows = max(rows, self.scrollable_content_region.height)
        size, old = Size(self.line_width, rows), self.virtual_size
        seen = self.container_size.height
        if size.width == old.width and 0 < seen < min(size.height, old.height):
            # More rows than fit, before and after (a busy channel table at every call that
            # comes or goes): the region and the scrollbars are the same, only the scroll
            # range and the thumb change. Setting the layout reactive would lay out and
            # repaint the whole screen (~35 ms at 160x50) on every such tick.
            self.set_reactive(LineTable.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.forget_rendered()

    def forget_rendered(self) -> None:
        """Drop every cached line and style (a theme change restyles them all)."""
        self._strips.clear()
        self._styles = None

    # Textual runs every class's _on_* handler along the MRO: no super() calls here.
    def _on_focus(self, _event: events.Focus) -> None:
        self._styles = None  # the cursor's style depends on :focus

    def _on_blur(self, _event: events.Blur) -> None:
        self._styles = None

    def _on_resize(self, _event: events.Resize) -> None:
        self._resized()

    def _style_set(self) -> tuple[Style, ...]:
        if self._styles is None:
            self._styles = self._compute_styles()
        return self._styles

    def _compute_styles(self) -> tuple[Style, ...]:
        """(base, header, cursor): subclasses may add more after these."""
        base = self.rich_style
        return (base, base + self.get_component_rich_style("line-table--header"),
                base + self.get_component_rich_style("line-table--cursor"))

    def _row_style(self, row: int, styles: tuple[Style, ...]) -> Style:
        """The style a row is drawn with (the cursor's, or the table's)."""
        return styles[2] if row == self.cursor_row else styles[0]

    def _header_strip(self) -> Strip:
        return self._line([plain(label) for label, _w in self.columns])

    def _row_strip(self, row: int, key: str) -> Strip:
        """The row's line without the widget's style, cached by key until it changes."""
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._line(self._cells[row])
        return strip

    def _line(self, cells: Sequence[Text]) -> Strip:
        """The row's text without the widget's style (applied at render: cursor or not)."""
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for (_label, width), cell in zip(self.columns, cells, strict=False):
            # Callers pass plain() Text; a control character that slipped through is
            # shown escaped, never sent to the terminal.
            piece = cell.copy() if cell.plain.isprintable() else plain(cell.plain,
                                                                        style=cell.style)
            piece.truncate(width, overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(piece)
        segments = list(line.render(self.app.console))
        return Strip(segments, line.cell_len)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The scroll offset and width are read once for the lines of one pass (each is
        # a walk through reactives and the compositor's map: a third of a line's cost).
        self._viewport = self._read_viewport()
        try:
            return super().render_lines(crop)
        finally:
            self._viewport = None

    def _read_viewport(self) -> tuple[int, int, int]:
        """(first column, first line, width) on screen."""
        return round(self.scroll_offset.x), round(self.scroll_offset.y), self.size.width

    def render_line(self, y: int) -> Strip:
        left, top, width = self._viewport or self._read_viewport()
        right = left + width
        styles = self._style_set()
        if y == 0:
            header = styles[1]
            return self._header_strip().apply_style(header).crop_extend(left, right, header)
        row = top + y - 1
        if not 0 <= row < len(self._keys):
            return Strip.blank(self.size.width, styles[0])
        return self._styled_row(row, self._keys[row], self._row_style(row, styles), left,
                                right)

    def _styled_row(self, row: int, key: str, style: Style, left: int, right: int) -> Strip:
        """The row's line in `style`, cut to the columns [left, right) on screen."""
        return self._row_strip(row, key).apply_style(style).crop_extend(left, right, style)

    # -- cursor ----------------------------------------------------------------------
    def _set_cursor(self, row: int) -> None:
        row = max(0, min(row, len(self._keys) - 1))
        old = self.cursor_row
        self.cursor_row = row
        top = round(self.scroll_offset.y)
        visible = self.page_rows
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
            self.refresh()
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)
            self.refresh()
        else:
            for line in {old, row}:
                self.refresh_row(line)
        self._announce()

    def _announce(self) -> None:
        key = self.cursor_key
        if key is not None and key != self._announced:
            self._announced = key
            self.post_message(self.RowHighlighted(self, key, self.cursor_row))

    def action_cursor(self, step: int) -> None:
        if self._keys:
            self._set_cursor(self.cursor_row + step)

    def action_page(self, pages: int) -> None:
        if self._keys:
            self._set_cursor(self.cursor_row + pages * max(1, self.page_rows - 1))

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key, self.cursor_row))

    async def _on_click(self, event: events.Click) -> None:
        row = round(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self._keys):
            if row == self.cursor_row:
                self.action_select()
            else:
                self._set_cursor(row)
