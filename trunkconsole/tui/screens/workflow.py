"""Walk an inbound call: the troubleshooting workflow as checked steps, run for you."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Select, Static

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.gather import network_evidence
from trunkconsole.diagnose.workflow import Step, StepState, WorkflowInput, run_workflow
from trunkconsole.errors import OperatorError
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.visible import visible, visible_lines

MARKS = {StepState.RUNNING: ("…", "yellow"), StepState.OK: ("✔", "green"),
         StepState.PROBLEM: ("✘", "bold red"), StepState.SKIPPED: ("-", "dim")}


def step_text(step: Step) -> Text:
    mark, style = MARKS[step.state]
    text = Text()
    text.append(visible(f" {mark} "), style=style)
    text.append(visible_lines(step.title + "\n"), style="bold")
    for line in step.saw:
        text.append(visible_lines(f"     {line}\n"))
    if step.fix:
        text.append("     fix: ", style="bold")
        text.append(visible_lines(step.fix + "\n"))
    return text


class WorkflowScreen(LiveScreen):
    """Logger on, the INVITE and Asterisk's answer, the identify, RTP, a capture line."""

    TITLE = "Walk a call"
    DEFAULT_CSS = """
    WorkflowScreen #wf-controls { height: auto; padding: 0 1; }
    WorkflowScreen #wf-controls > * { margin-right: 1; }
    WorkflowScreen #wf-trunk { width: 30; }
    WorkflowScreen #wf-wait { width: 12; }
    WorkflowScreen #wf-steps { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Start", id="wf-run"),
        Binding("a", "apply_fix", "Apply fix", id="wf-fix"),
    ]

    def __init__(self, trunk: str = "", steps: list[Step] | None = None) -> None:
        """steps: show these as a finished walk (snapshots)."""
        super().__init__()
        self.trunk = trunk
        self._names: list[str] = []
        self.steps: list[Step] = steps or []
        self.running = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="wf-controls"):
            yield Select([], prompt="trunk", id="wf-trunk")
            yield Input("60", placeholder="wait s", id="wf-wait")
            yield Button("Start", variant="primary", id="wf-start")
        with VerticalScroll(id="wf-steps"):
            yield Static(Text("Choose the trunk the calls should arrive on, press Start, "
                              "then place a call to one of its numbers."), id="wf-text",
                         markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load_trunks()
        if self.steps:
            self._render_steps(self.steps[-1])

    @work(exclusive=True, group="wf-trunks", exit_on_error=False)
    async def _load_trunks(self) -> None:
        names = await asyncio.to_thread(self.app.trunk_names)  # a config parse: off the loop
        self.query_one("#wf-trunk", Select).set_options([(plain(t), t) for t in names])
        self._names = names
        # The trunk asked for (a trunk's diagnosis), else the only trunk there is.
        self.choose(self.trunk or (names[0] if len(names) == 1 else ""))

    def choose(self, trunk: str) -> None:
        """Select this trunk (now, or once the trunk list is read)."""
        self.trunk = trunk
        if trunk and trunk in self._names:
            self.query_one("#wf-trunk", Select).value = trunk

    def _render_steps(self, step: Step) -> None:
        del step
        text = Text()
        for item in self.steps:
            text.append_text(step_text(item))
        self.query_one("#wf-text", Static).update(text)

    @on(Button.Pressed, "#wf-start")
    def action_run(self) -> None:
        if not self.running:
            self._run()

    @work(exclusive=True, group="workflow", exit_on_error=False)
    async def _run(self) -> None:
        app = self.app
        label = self.query_one("#wf-text", Static)
        trunk = self.query_one("#wf-trunk", Select).value
        ami = app.ami_actions()
        try:
            if app.settings.readonly:
                raise OperatorError("read-only mode: the workflow switches the SIP logger on")
            if ami is None:
                raise OperatorError("AMI is not connected")
            if not isinstance(trunk, str):
                raise OperatorError("choose a trunk")
            try:
                wait = float(self.query_one("#wf-wait", Input).value)
            except ValueError:
                raise OperatorError("the wait must be a number of seconds") from None
        except OperatorError as exc:
            label.update(plain_lines(exc.render(), style="bold red"))
            return
        self.running = True
        self.steps = []
        ev = Evidence()
        await asyncio.to_thread(network_evidence, ev, app.settings.asterisk_dir)
        config = await asyncio.to_thread(app.asterisk_config)
        rtp = (config.rtp.start, config.rtp.end) if config is not None else (5000, 31000)

        def report(step: Step) -> None:
            if step not in self.steps:
                self.steps.append(step)
            self._render_steps(step)

        try:
            await run_workflow(ami, WorkflowInput(trunk=trunk, config=config, engine=ev.engine,
                                                  target=app.settings.ami, bans=ev.bans,
                                                  rtp_range=rtp, wait=wait), report)
        except OperatorError as exc:
            label.update(plain_lines(exc.render(), style="bold red"))
        finally:
            self.running = False

    def action_apply_fix(self) -> None:
        proposal = next((s.proposal for s in self.steps if s.proposal is not None), None)
        if proposal is None:
            self.notify("no guided change for what the workflow found", severity="warning")
            return
        self.app.propose(replace(proposal, why="found by the workflow"))
