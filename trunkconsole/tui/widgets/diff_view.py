"""A unified diff, highlighted with the theme's colours; secret values masked."""

from __future__ import annotations

from pygments.token import Token
from textual.highlight import HighlightTheme, highlight
from textual.widgets import Static

from trunkconsole.masking import mask_secrets
from trunkconsole.visible import visible_lines


class DiffTheme(HighlightTheme):
    STYLES = {  # noqa: RUF012 - Textual declares STYLES as a plain class attribute
        **HighlightTheme.STYLES,
        Token.Generic.Inserted: "$text-success on $success-muted",
        Token.Generic.Deleted: "$text-error on $error-muted",
        Token.Generic.Subheading: "$text-accent",
        Token.Generic.Heading: "bold",
    }


class DiffView(Static):
    """Shows one diff; the text is data, never markup."""

    DEFAULT_CSS = """
    DiffView {
        width: auto;
        min-width: 100%;
        padding: 0 1;
    }
    """

    def __init__(self, diff: str, *, id: str | None = None) -> None:
        shown = visible_lines(mask_secrets(diff))
        super().__init__(highlight(shown, language="diff", theme=DiffTheme), id=id, markup=False)
