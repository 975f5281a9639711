"""Is the SIP conntrack helper (nf_conntrack_sip, the "SIP ALG") active, and where?

Since kernel 6.0 a helper runs only when a rule assigns it (nft `ct helper set`, iptables
`-j CT --helper sip`, firewalld's sip service); automatic assignment by port is gone
(commit b118509076b3, reference §5.9). When it runs it creates expectations from SDP, so
RTP can enter as `ct state related` with no RTP rule, it gives every SIP flow a 3600 s
timeout, and with NAT nf_nat_sip rewrites SIP headers and SDP.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.net.ir import CtHelper, Ruleset

MODULE_DIR = Path("/sys/module/nf_conntrack_sip")


@dataclass
class HelperState:
    assigned_by: list[str] = field(default_factory=list)  # rules that assign a sip helper
    objects: list[str] = field(default_factory=list)  # `ct helper` objects of type sip
    module_loaded: bool = False
    parameters: dict[str, str] = field(default_factory=dict)
    expectations: int = 0  # sip/audio lines in /proc/net/nf_conntrack_expect

    @property
    def active(self) -> bool:
        return bool(self.assigned_by)

    def explain(self) -> str:
        if not self.active:
            return "no rule assigns the SIP conntrack helper"
        ports = self.parameters.get("ports", "5060")
        return (f"the SIP conntrack helper is assigned by {', '.join(self.assigned_by)}; it "
                f"parses SIP on port(s) {ports} only (not TLS), lets RTP in as 'related' for "
                "calls it understood (even without an RTP rule), holds SIP flows for 3600 s, "
                "and with NAT rewrites SIP and SDP (nf_nat_sip)")


def helper_state(ruleset: Ruleset | None, sys_dir: Path = MODULE_DIR,
                 expect_path: Path = Path("/proc/net/nf_conntrack_expect")) -> HelperState:
    """Collect every sign of the SIP helper: rules, objects, module parameters, expectations."""
    state = HelperState()
    if ruleset is not None:
        for table in ruleset.tables:
            sip_names = {name for name, h in table.helpers.items() if h.type == "sip"}
            state.objects.extend(f"{table.label()} ct helper {n}" for n in sorted(sip_names))
            for chain in table.chains.values():
                for rule in chain.rules:
                    for stmt in rule.statements:
                        if isinstance(stmt, CtHelper) and (
                                stmt.name in sip_names or stmt.name == "sip"):
                            state.assigned_by.append(rule.label())
    state.module_loaded = sys_dir.exists()
    params = sys_dir / "parameters"
    if params.is_dir():
        for item in sorted(params.iterdir()):
            try:
                state.parameters[item.name] = item.read_text().strip()
            except OSError:
                continue
    with contextlib.suppress(OSError):
        state.expectations = sum(1 for line in expect_path.read_text().splitlines()
                                 if "sip/" in line)
    return state
