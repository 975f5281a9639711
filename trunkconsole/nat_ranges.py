"""Address ranges that never cross the Internet as they are: a peer there sits behind NAT
(or on a private network with NAT in between).

RFC 1918, RFC 6598 CGNAT, link local, ULA. Python's `is_private` also counts the
documentation ranges the lab and the tests use as public addresses, so it is not used.
"""

from __future__ import annotations

import ipaddress

PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
    "fc00::/7", "fe80::/10"))


def in_private_range(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in net for net in PRIVATE_RANGES if net.version == ip.version)
