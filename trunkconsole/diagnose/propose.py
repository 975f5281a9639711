"""Which trunk an unknown sender most likely belongs to (for "add this IP to trunk X").

Evidence, strongest first: the source is in the same /24 as one of a trunk's matches
(carriers renumber within their blocks), the number it dialled is routed by the trunk's
context, its From user was seen on that trunk's calls before; a shared /16 counts a
little. InvalidAccountID carries only the From user, not the dialled number, so the DID
is evidence only when the SIP trace or a channel supplies it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from trunkconsole.pjsip.system import AsteriskConfig


@dataclass
class Candidate:
    trunk: str
    score: int = 0
    reasons: list[str] = field(default_factory=list)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def propose_trunks(config: AsteriskConfig, address: str, *, from_users: Iterable[str] = (),
                   dialled: Iterable[str] = (),
                   known_from_users: Mapping[str, set[str]] | None = None) -> list[Candidate]:
    """Trunks ranked by how well they explain this unknown sender (best first, score > 0)."""
    source = _ip(address)
    users = set(from_users)
    numbers = set(dialled)
    candidates: dict[str, Candidate] = {}
    for identify in config.pjsip.of_type("identify"):
        trunk = identify.value("endpoint")
        endpoint = config.pjsip.get("endpoint", trunk)
        if not trunk or endpoint is None:
            continue
        cand = candidates.setdefault(trunk, Candidate(trunk))
        for match, _option in config.pjsip.matches(identify):
            if source is None or match.address is None or match.version != source.version:
                continue
            for prefix, points in ((24, 3), (16, 1)) if source.version == 4 else ((48, 3),
                                                                                   (32, 1)):
                net = ipaddress.ip_network(f"{match.address}/{prefix}", strict=False)
                if source in net:
                    reason = f"same /{prefix} as its match {match.raw}"
                    if reason not in cand.reasons and not any(
                            r.startswith("same /") for r in cand.reasons):
                        cand.score += points
                        cand.reasons.append(reason)
                    break
        context = endpoint.value("context", "default")
        routed = config.dialplan.contexts.get(context)
        if routed is not None:
            hits = sorted(n for n in numbers if n in routed.extensions)
            if hits:
                cand.score += 3
                cand.reasons.append(f"dialled {', '.join(hits)}, routed by its context {context}")
        seen = (known_from_users or {}).get(trunk, set())
        shared = sorted(users & seen)
        if shared:
            cand.score += 2
            cand.reasons.append(f"From user {', '.join(shared)} seen on its calls before")
    ranked = [c for c in candidates.values() if c.score > 0]
    return sorted(ranked, key=lambda c: (-c.score, c.trunk))
