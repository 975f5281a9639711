"""Gather everything for the network report: config inputs, rules, host facts, helper."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.net.bans import gather_bans
from trunkconsole.net.collect import FirewallUnreadable, capture, load_files
from trunkconsole.net.feed import RulesetFeed
from trunkconsole.net.helper import helper_state
from trunkconsole.net.host import read_host
from trunkconsole.net.inputs import NetworkInputs
from trunkconsole.net.ir import Ruleset
from trunkconsole.net.report import NetworkReport, attach_bans, build_report
from trunkconsole.net.sockets import asterisk_pid, listening_sockets


def gather_report(config_dir: Path, *, files: tuple[Path | None, list[Path]] | None = None,
                  netns: str | None = None, inputs: NetworkInputs | None = None,
                  feed: RulesetFeed | None = None) -> NetworkReport:
    """The full report for this host (or netns); rules from files when given, else from
    the feed (the console's one watcher: read once per change), else read now."""
    if inputs is None:
        from trunkconsole.net.pjsip_inputs import load_inputs

        inputs = load_inputs(config_dir)
    ruleset: Ruleset | None = None
    document = None
    error = ""
    try:
        if files is not None:
            ruleset = load_files(*files)
        else:
            raw = feed.current()[0] if feed is not None else capture(netns)
            ruleset, document = raw.ruleset(), raw.document
    except FirewallUnreadable as exc:
        error = exc.render()
    sources = [s for p in inputs.providers if (s := p.probe_address()) is not None]
    host = read_host(sources, netns)
    pid = asterisk_pid()
    host.sockets = listening_sockets(pid) if pid is not None or netns is None else None
    helper = helper_state(ruleset)
    report = build_report(inputs, ruleset, host if files is None else None, helper,
                          firewall_error=error)
    if files is None and netns is None:  # fail2ban-client and /proc: this host only
        attach_bans(report, gather_bans(ruleset, document))
    return report

