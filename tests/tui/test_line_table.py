"""LineTable (the calls and ladder tables): rows drawn once, keys, literal text."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult

from trunkconsole.tui.widgets.line_table import LineTable


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str] = []
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield LineTable((("n", 4), ("caller", 12)), id="t")

    def on_line_table_row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.selected.append(event.key)


def lines(app: Any) -> list[str]:
    table = app.query_one(LineTable)
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_keys_move_the_cursor_and_select() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(LineTable)
        table.add_rows((str(i), (Text(str(i)), Text(f"c{i}"))) for i in range(20))
        table.focus()
        await pilot.pause()
        assert app.highlighted == ["0"]
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 19
        assert lines(app)[-1].split()[:2] == ["19", "c19"]  # scrolled to keep it visible
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["19"]
        assert app.highlighted == ["0", "1", "2", "19"]


async def test_update_redraws_only_that_row_and_text_stays_literal() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(LineTable)
        table.add_row(Text("1"), Text("[red]x[/]\x1b[2J"), key="a")
        table.add_row(Text("2"), Text("bob"), key="b")
        await pilot.pause()
        assert "[red]x[/]" in lines(app)[1]
        assert "\x1b" not in "".join(lines(app))
        cached = dict(table._strips)
        table.update_cell("b", "caller", Text("carol"))
        assert table._strips.get("a") is cached["a"]
        assert "b" not in table._strips
        await pilot.pause()
        assert lines(app)[2].split()[:2] == ["2", "carol"]
        assert lines(app)[0].split() == ["n", "caller"]
