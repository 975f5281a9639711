"""`trunkconsole logger show --ladder [--call ID] [--search NUMBER] [--pcap FILE]`."""

from __future__ import annotations

import argparse
import sys

from trunkconsole.calls.ladder import CallFlow, group_calls, render_ladder
from trunkconsole.calls.nat import analyse
from trunkconsole.calls.sip import printable
from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.errors import OperatorError
from trunkconsole.visible import echo, visible_json


def select_calls(messages: list[SipMessage], call_ids: list[str],
                 search: str | None) -> list[CallFlow]:
    """The calls asked for: by Call-ID (exact), then by number; all when neither is given."""
    flows = group_calls(messages)
    if call_ids:
        wanted = set(call_ids)
        flows = [f for f in flows if f.call_id in wanted]
        missing = wanted - {f.call_id for f in flows}
        if missing:
            raise OperatorError("no such call in the SIP history: " + ", ".join(sorted(missing)),
                                fix="`trunkconsole logger show --ladder` lists the calls")
    if search:
        flows = [f for f in flows if f.matches(search)]
    return flows


def show_ladder(messages: list[SipMessage], args: argparse.Namespace) -> int:
    """Print the ladders (or JSON); write the pcap when asked. Exit 1 when nothing matched."""
    flows = select_calls(messages, args.call, args.search)
    if args.pcap is not None and flows:
        from trunkconsole.calls.pcap import write_pcap

        count = write_pcap(flows, args.pcap)
        echo(f"wrote {count} SIP messages of {len(flows)} call(s) to {args.pcap}",
             file=sys.stderr)
    if args.json:
        echo(visible_json([f.to_json() | {"nat": [{"code": n.code, "text": n.text,
                                                   "fix": n.fix} for n in analyse(f)]}
                           for f in flows]))
    else:
        for flow in flows:
            lines = render_ladder(flow)
            for finding in analyse(flow):
                lines += [printable(f"  NAT: {finding.text}"),
                          printable(f"       fix: {finding.fix}")]
            echo("\n".join(lines) + "\n")
    if not flows:
        echo("no calls in the SIP history" + (" match" if args.call or args.search else ""),
             file=sys.stderr)
        return 1
    return 0
