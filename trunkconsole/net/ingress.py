"""Which device a netdev (or inet) ingress chain is attached to.

nft 1.0.6 (Debian 12) prints a netdev base chain in JSON without its device: `{"chain":
{"family": "netdev", ..., "hook": "ingress", "prio": -500, "policy": "accept"}}` (seen in
a scratch namespace, chain declared `device "wan0"`). The text listing keeps it (`type
filter hook ingress device "wan0" priority -500;`, or `devices = { "a", "b" }`), so the
collector reads the text of those chains and fills "dev" in. Offline JSON without it
leaves the device unknown, and the engine treats such a chain as maybe attached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Runner = Callable[[list[str]], tuple[int, str, str]]
_DEVICE = re.compile(r'\bdevice\s+"?([^\s";]+)"?')
_DEVICES = re.compile(r"\bdevices\s*=\s*\{([^}]*)\}")


def devices_from_text(text: str) -> list[str]:
    """Device names from one chain's `nft list chain` text."""
    many = _DEVICES.search(text)
    if many:
        return [d.strip().strip('"') for d in many.group(1).split(",") if d.strip()]
    one = _DEVICE.search(text)
    return [one.group(1)] if one else []


def fill_devices(document: dict[str, Any], run: Runner) -> None:
    """Add "dev" to every ingress base chain that lacks it, from `nft list chain`."""
    for item in document.get("nftables", []):
        chain = item.get("chain") if isinstance(item, dict) else None
        if not isinstance(chain, dict) or chain.get("hook") != "ingress" or "dev" in chain:
            continue
        rc, out, _ = run(["nft", "list", "chain", str(chain.get("family")),
                          str(chain.get("table")), str(chain.get("name"))])
        found = devices_from_text(out) if rc == 0 else []
        if found:
            chain["dev"] = found[0] if len(found) == 1 else found
