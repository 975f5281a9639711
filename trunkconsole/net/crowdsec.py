"""Where a CrowdSec ban came from, from `cscli decisions list -i ADDR -o json`.

The bouncer's sets (`crowdsec-blacklists-<origin>`) say that CrowdSec bans an address;
the Local API says why. Output format (cscli 1.4.6, recorded against a real LAPI in
tests/fixtures/net/bans; unchanged in crowdsecurity/crowdsec
cmd/crowdsec-cli/clidecision/decisions.go of 1.7): a JSON array of alerts, each with
`decisions[]` holding `id`, `origin` (crowdsec = the agent's scenario, cscli = by hand,
CAPI / lists = community blocklists, cscli-import), `scenario` (the scenario, or the
reason given to `cscli decisions add -R`), `scope` (Ip, Range), `value`, `type` (ban,
captcha) and `duration` (time left, a Go duration: `3h59m56.25s`). No decision prints
`null` (1.4) or `[]` (1.5+). `-i ADDR` also returns Range decisions covering ADDR.
Lifting: `cscli decisions delete -i ADDR` deletes Ip decisions, `-r RANGE` a range's.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trunkconsole.net.nsexec import run_command

TIMEOUT = 10.0
BLOCKLIST_ORIGINS = ("CAPI", "lists")  # pulled again from the Central API
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}

Runner = Callable[[list[str]], tuple[int, str, str]]


@dataclass(frozen=True)
class Decision:
    """One active LAPI decision on an address (or a range holding it)."""

    id: int
    origin: str
    scenario: str
    scope: str
    value: str
    type: str
    left: float | None  # seconds, from `duration`
    simulated: bool = False

    def lift(self) -> str:
        """The cscli command that deletes this decision."""
        flag = "-r" if self.scope.lower() == "range" else "-i"
        return f"cscli decisions delete {flag} {self.value}"

    def describe(self) -> str:
        what = "simulated " if self.simulated else ""
        return f"{what}{self.type} #{self.id} by {self.origin}: {self.scenario}"


def go_duration(text: str) -> float | None:
    """`3h59m56.250754696s` -> seconds; None when it is not a Go duration."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    parts = _GO_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        return None
    return sign * sum(float(n) * _UNIT[u] for n, u in parts)


def parse_decisions(text: str) -> list[Decision]:
    """Every decision in `cscli decisions list -o json` output; ValueError if not that."""
    data: Any = json.loads(text)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError("not a list of alerts")
    found: list[Decision] = []
    for alert in data:
        decisions = alert.get("decisions") if isinstance(alert, dict) else None
        for raw in decisions if isinstance(decisions, list) else []:
            if not isinstance(raw, dict):
                continue
            found.append(Decision(
                id=int(raw.get("id") or 0), origin=str(raw.get("origin") or "?"),
                scenario=str(raw.get("scenario") or ""), scope=str(raw.get("scope") or ""),
                value=str(raw.get("value") or ""), type=str(raw.get("type") or ""),
                left=go_duration(str(raw.get("duration") or "")),
                simulated=bool(raw.get("simulated"))))
    return found


def run_cscli(cmd: list[str]) -> tuple[int, str, str]:
    return run_command(cmd, TIMEOUT)


def decisions_on(address: str, run: Runner = run_cscli) -> tuple[list[Decision], str]:
    """(active decisions on address, why they could not be read or '')."""
    rc, out, err = run(["cscli", "decisions", "list", "-i", address, "-o", "json"])
    if rc != 0:
        lines = (err or out).strip().splitlines()
        return [], lines[-1][-200:] if lines else f"cscli exited {rc}"
    try:
        return parse_decisions(out), ""
    except (ValueError, TypeError) as exc:
        return [], f"cscli printed something else than decisions ({exc})"


def cscli_reader() -> Callable[[str], tuple[list[Decision], str]] | None:
    """decisions_on when cscli is installed here, else None."""
    return decisions_on if shutil.which("cscli") else None
