"""Help: the keys of the screen it was opened from, with their ids for keymap overrides."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from trunkconsole.tui.plain import plain, plain_lines

KEYMAP_HINT = (
    "Remap any key in ~/.config/trunkconsole/config.yaml, by the id in the last column:\n"
    "  keymap:\n    add-identify: ctrl+a\n"
    "ctrl+p opens the command palette: every screen and action, trunks by name, themes."
)


def bindings_table(screen: Screen[object]) -> Table:
    """Key, what it does, where it applies, and its id, for the given screen."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("key", no_wrap=True, style="bold")
    table.add_column("action")
    table.add_column("on", no_wrap=True)
    table.add_column("id", no_wrap=True, style="dim")
    rows: dict[tuple[str, str], tuple[list[str], str, str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or not (binding.show or binding.id):
            continue  # scrolling and focus keys: the footer does not show them either
        where = "everywhere" if active.node is screen.app else type(active.node).__name__
        keys, _where, _id = rows.setdefault((binding.action, binding.description),
                                            ([], where, binding.id or ""))
        keys.append(screen.app.get_key_display(binding))
    ordered = sorted(rows.items(), key=lambda item: (item[1][1] == "everywhere", item[0][1]))
    for (_action, description), (keys, where, binding_id) in ordered:
        table.add_row(plain(", ".join(keys)), plain(description), plain(where), plain(binding_id))
    return table


class HelpScreen(ModalScreen[None]):
    """Keys of the current screen and of the whole console."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-hint { color: $text-muted; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close", id="help-close"),
    ]

    def __init__(self, for_screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = for_screen

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            title = self.for_screen.TITLE or type(self.for_screen).__name__
            yield Static(plain(f"Keys on {title}", style="bold"))
            yield Static(bindings_table(self.for_screen))
            yield Static(plain_lines(KEYMAP_HINT), id="help-hint")
        yield Footer()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
