"""The lab's network: a PBX namespace and a carrier namespace joined by a veth pair.

Addresses are from TEST-NET-3 (RFC 5737). Both veth ends are created directly inside the
namespaces, so nothing in the host namespace changes; deleting the namespaces deletes the
veth pair with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkconsole.lab.addresses import (
    CARRIER_ADDRESS,
    PBX_ADDRESS,
    PREFIX_LEN,
    SPARE_ADDRESSES,
)
from trunkconsole.lab.netns import namespace_path
from trunkconsole.lab.system import run

VETH = "eth0"


@dataclass(frozen=True)
class LabNetwork:
    """Names of one lab's namespaces; the lab name keeps two labs apart."""

    name: str

    @property
    def pbx_ns(self) -> str:
        return f"tc-{self.name}-pbx"

    @property
    def carrier_ns(self) -> str:
        return f"tc-{self.name}-carrier"

    def namespaces(self) -> tuple[str, str]:
        return (self.pbx_ns, self.carrier_ns)

    def existing(self) -> list[str]:
        """Namespaces of this lab that exist now."""
        return [ns for ns in self.namespaces() if namespace_path(ns).exists()]

    def create(self) -> None:
        """Create both namespaces, the veth pair and the addresses."""
        for ns in self.namespaces():
            run(["ip", "netns", "add", ns], what=f"creating namespace {ns}")
            run(["ip", "-n", ns, "link", "set", "lo", "up"], what=f"lo up in {ns}")
        run(["ip", "-n", self.pbx_ns, "link", "add", VETH, "type", "veth",
             "peer", "name", VETH, "netns", self.carrier_ns], what="creating the veth pair")
        run(["ip", "-n", self.pbx_ns, "addr", "add", f"{PBX_ADDRESS}/{PREFIX_LEN}", "dev", VETH],
            what="PBX address")
        for address in (CARRIER_ADDRESS, *SPARE_ADDRESSES):
            run(["ip", "-n", self.carrier_ns, "addr", "add", f"{address}/{PREFIX_LEN}",
                 "dev", VETH], what=f"carrier address {address}")
        for ns in self.namespaces():
            run(["ip", "-n", ns, "link", "set", VETH, "up"], what=f"veth up in {ns}")

    def destroy(self) -> None:
        """Delete the namespaces (and with them the veth pair); missing ones are fine."""
        for ns in self.existing():
            run(["ip", "netns", "del", ns], what=f"deleting namespace {ns}", check=False)
