"""Real PJSIP history captured from the lab (Asterisk 22.10, sipp): tests/fixtures/history.

Each file holds the `pjsip show history` listing and every `pjsip show history entry N`
as Asterisk printed them over AMI (regenerate with the script in its "how" key).
"""

from __future__ import annotations

import json
from pathlib import Path

from trunkconsole.calls.sip_history import SipMessage, parse_entry, parse_history_list

HISTORY = Path(__file__).resolve().parents[1] / "fixtures" / "history"


def load_history(name: str) -> list[SipMessage]:
    data = json.loads((HISTORY / name).read_text())
    out = []
    for summary in parse_history_list(data["list"]):
        text = parse_entry(data["entries"][str(summary.number)])
        out.append(SipMessage(summary.number, summary.timestamp, summary.received,
                              summary.address, text.splitlines()[0], text))
    return out
