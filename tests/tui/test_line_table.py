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


class ChannelsApp(App[None]):
    """A LiveTable as the dashboard's channel table is laid out (height auto, capped)."""

    CSS = "LiveTable { height: auto; max-height: 8; }"

    def compose(self) -> ComposeResult:
        from trunkconsole.tui.widgets.live_table import Column, LiveTable

        yield LiveTable((Column("n", "n", 6), Column("who", "who", 10)), id="t")


async def test_rows_coming_and_going_past_the_fold_cost_no_layout() -> None:
    """Rows added or removed while the table overflows before and after: the screen is not
    laid out again (it repainted all of itself at every call that came or went), yet the
    scroll range and the scrollbar follow; crossing the fold still lays out."""
    from textual._compositor import Compositor

    from trunkconsole.tui.widgets.live_table import LiveTable

    reflows = [0]
    original = Compositor.reflow

    def counted(self: Compositor, *args: Any, **kwargs: Any) -> Any:
        reflows[0] += 1
        return original(self, *args, **kwargs)

    app = ChannelsApp()
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LiveTable)

        def rows(count: int) -> dict[str, tuple[Text, ...]]:
            return {f"{n:03}": (Text(f"{n:03}"), Text(f"c{n}")) for n in range(count)}

        table.sync(rows(3))
        await pilot.pause()
        assert table.size.height == 4  # auto: header + 3 rows
        table.sync(rows(30))
        await pilot.pause()
        assert table.size.height == 8  # capped
        assert table.show_vertical_scrollbar
        Compositor.reflow = counted  # type: ignore[method-assign]
        try:
            for _ in range(100):  # the growth to 30 rows has been laid out: a quiet 50 ms
                reflows[0] = 0
                await pilot.pause(0.05)
                if not reflows[0]:
                    break
            for count in (31, 29, 40):
                table.sync(rows(count))
                await pilot.pause()
                assert table.virtual_size.height == count + 1
                assert table.vertical_scrollbar.window_virtual_size == count + 1
            assert reflows[0] == 0
            table.focus()
            await pilot.press("end")
            await pilot.pause()
            assert lines(app)[-1].split() == ["039", "c39"]  # the new range scrolls
            table.sync(rows(2))
            await pilot.pause()
            assert reflows[0] >= 1  # fewer rows than fit: the table shrinks
            assert table.size.height == 3
            assert not table.show_vertical_scrollbar
        finally:
            Compositor.reflow = original  # type: ignore[method-assign]
