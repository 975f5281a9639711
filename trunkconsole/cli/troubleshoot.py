"""`trunkconsole troubleshoot TRUNK`: the inbound workflow, step by step, in the terminal."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from trunkconsole.visible import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "troubleshoot", help="walk an inbound call: logger, INVITE, identify, RTP, capture",
        description="Switch the SIP logger on, wait for an inbound call, and say at each "
        "step what Asterisk saw and what to do.")
    parser.add_argument("trunk", help="the trunk (endpoint) the calls should arrive on")
    parser.add_argument("--wait", type=float, default=60.0,
                        help="seconds to wait for an inbound INVITE (default 60)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from trunkconsole.cli.support import ami_target, settings_from_args
    from trunkconsole.diagnose.evidence import Evidence
    from trunkconsole.diagnose.gather import config_evidence, network_evidence
    from trunkconsole.diagnose.workflow import Step, StepState, WorkflowInput, run_workflow
    from trunkconsole.errors import OperatorError

    settings = settings_from_args(args)
    if settings.readonly:
        raise OperatorError("read-only mode: the workflow switches the SIP logger on")
    target = ami_target(args)
    ev = Evidence()
    config_evidence(ev, settings.asterisk_dir)
    network_evidence(ev, settings.asterisk_dir)
    rtp = (ev.config.rtp.start, ev.config.rtp.end) if ev.config is not None else (5000, 31000)
    printed: dict[int, int] = {}

    def report(step: Step) -> None:
        key = id(step)
        if step.state is StepState.RUNNING and key not in printed:
            echo(f"... {step.title}", flush=True)
            printed[key] = 0
            return
        if step.state is not StepState.RUNNING:
            mark = {StepState.OK: "ok", StepState.PROBLEM: "PROBLEM",
                    StepState.SKIPPED: "skipped"}[step.state]
            echo(f"[{mark}] {step.title}")
            for line in step.saw:
                echo(f"      {line}")
            if step.fix:
                echo(f"      fix: {step.fix}")

    async def run() -> list[Step]:
        from trunkconsole.ami.oneshot import ami_session

        async with ami_session(target) as ami:
            return await run_workflow(ami, WorkflowInput(
                trunk=args.trunk, config=ev.config, engine=ev.engine, target=target,
                bans=ev.bans,
                rtp_range=rtp,
                wait=args.wait), report)

    steps = asyncio.run(run())
    return 1 if any(s.state is StepState.PROBLEM for s in steps) else 0
