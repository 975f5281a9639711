"""Review a ChangeSet and apply it: diff, notes, apply / dead-man apply / cancel, progress.

Every guided change ends here. Nothing is written before the operator presses apply; the
progress list shows write, reload, verify and any rollback as they happen.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from trunkconsole.ami.oneshot import ami_session
from trunkconsole.changes.apply import Applier, ApplyResult, Progress
from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.sip_logger import reasserter
from trunkconsole.errors import OperatorError
from trunkconsole.private import state_dir
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.widgets.diff_view import DiffView
from trunkconsole.visible import visible, visible_lines

DEAD_MAN_SECONDS = 60.0


class ReviewScreen(ModalScreen[ApplyResult | None]):
    """The diff review used by every flow."""

    app = getters.app(TrunkConsoleApp)

    DEFAULT_CSS = """
    ReviewScreen { align: center middle; }
    ReviewScreen > Vertical {
        width: 90%; height: 90%;
        border: thick $primary; background: $surface;
    }
    ReviewScreen #review-title { text-style: bold; padding: 0 1; width: 100%;
                                 background: $primary-muted; }
    ReviewScreen #review-notes { color: $text-warning; padding: 0 1; height: auto; }
    ReviewScreen #review-diff { height: 1fr; }
    ReviewScreen #review-progress { height: auto; max-height: 12; padding: 0 1;
                                    border-top: solid $primary; }
    ReviewScreen #review-confirm { height: auto; padding: 0 1; color: $text-warning;
                                   text-style: bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply", id="review-apply"),
        # Enter: the primary action (apply; once done, close), so that a fix proposed by a
        # diagnosis goes through with Enter, Enter.
        Binding("enter", "primary", "Apply", show=False, id="review-primary"),
        Binding("d", "apply_dead_man", f"Apply, undo in {DEAD_MAN_SECONDS:.0f}s unless kept",
                id="review-dead-man"),
        Binding("k", "keep", "Keep change", id="review-keep"),
        Binding("escape", "cancel", "Cancel / close", id="review-cancel"),
    ]

    def __init__(self, changeset: ChangeSet) -> None:
        super().__init__()
        self.changeset = changeset
        self.result: ApplyResult | None = None
        self.running = False
        self._confirm_event: asyncio.Future[bool] | None = None
        self._progress: list[Progress] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(self.changeset.title), id="review-title")
            notes = "\n".join(f"! {note}" for note in self.changeset.notes)
            yield Static(plain_lines(notes), id="review-notes", markup=False)
            with VerticalScroll(id="review-diff"):
                yield DiffView(self.changeset.diff())
            yield Static(id="review-progress", markup=False)
            yield Static(id="review-confirm", markup=False)
            yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "apply_dead_man"):
            return not self.running and self.result is None
        if action == "primary":
            return not self.running and self._confirm_event is None
        if action == "keep":
            return self._confirm_event is not None
        if action == "cancel":
            return not self.running or self._confirm_event is not None
        return True

    def action_cancel(self) -> None:
        if self._confirm_event is not None:
            self._answer(False)
            return
        self.dismiss(self.result)

    def action_apply(self) -> None:
        self._run(dead_man=False)

    def action_primary(self) -> None:
        if self.result is None:
            self._run(dead_man=False)
        elif not self.running and self._confirm_event is None:
            self.dismiss(self.result)

    def action_apply_dead_man(self) -> None:
        self._run(dead_man=True)

    def action_keep(self) -> None:
        self._answer(True)

    def _answer(self, keep: bool) -> None:
        event = self._confirm_event
        if event is not None and not event.done():
            event.set_result(keep)

    def _show_progress(self, progress: Progress) -> None:
        self._progress.append(progress)
        text = Text()
        for item in self._progress:
            text.append("  ok  " if item.ok else " FAIL ",
                        style="bold green" if item.ok else "bold red")
            text.append(visible(f"{item.step.value:9} "))
            text.append(visible_lines(item.detail + "\n"))
        self.query_one("#review-progress", Static).update(text)

    @work(exclusive=True, group="apply", exit_on_error=False)
    async def _run(self, dead_man: bool) -> None:
        app = self.app
        self.running = True
        self.refresh_bindings()
        confirm_line = self.query_one("#review-confirm", Static)

        async def confirm() -> bool:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._confirm_event = future
            confirm_line.update(plain(f"Calls still working? Press k to keep the change; it is "
                                      f"rolled back in {DEAD_MAN_SECONDS:.0f} s otherwise "
                                      "(escape rolls back now)."))
            self.refresh_bindings()
            try:
                return await future
            finally:
                self._confirm_event = None
                confirm_line.update("")
                self.refresh_bindings()

        applier = Applier(app.ami_actions(), state_dir(), readonly=app.settings.readonly,
                          on_progress=self._show_progress,
                          after_reload=reasserter(app.settings.ami.address),
                          fresh_ami=lambda: ami_session(app.settings.ami))
        try:
            self.result = await applier.apply(
                self.changeset, confirm=confirm if dead_man else None,
                confirm_within=DEAD_MAN_SECONDS if dead_man else None)
        except OperatorError as exc:
            confirm_line.update(plain_lines(exc.render(), style="bold red"))
        else:
            style = "bold green" if self.result.applied else "bold red"
            confirm_line.update(plain_lines(self.result.summary() + "  (escape closes)",
                                            style=style))
        finally:
            self.running = False
            self.refresh_bindings()
