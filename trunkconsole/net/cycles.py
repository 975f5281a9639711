"""Refuse rulesets whose chains jump in a circle, before any packet is walked.

The kernel never runs such a ruleset: nf_tables rejects a jump/goto loop when the rules
are loaded (nft_chain_validate, ELOOP "Too many levels of symbolic links"), and so does
x_tables (mark_source_chains). So a file with a loop was not listed from a kernel; it is
refused with the loop named, rather than walked forever.
"""

from __future__ import annotations

from collections.abc import Iterable

from trunkconsole.errors import OperatorError
from trunkconsole.net.ir import SetRef, Table, Verdict, VMap


def _targets(table: Table, chain: str) -> Iterable[str]:
    for rule in table.chains[chain].rules:
        for stmt in rule.statements:
            if isinstance(stmt, Verdict) and stmt.kind in ("jump", "goto"):
                yield stmt.target
            elif isinstance(stmt, VMap):
                if isinstance(stmt.data, SetRef):
                    named = table.sets.get(stmt.data.name)
                    verdicts = [v for v in (named.data if named else ())
                                if isinstance(v, Verdict)]
                else:
                    verdicts = [v for _, v in stmt.data]
                yield from (v.target for v in verdicts if v.kind in ("jump", "goto"))


def check_loops(tables: Iterable[Table]) -> None:
    """OperatorError naming the first jump loop found (iterative DFS: no recursion)."""
    for table in tables:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in table.chains:
            if state.get(root):
                continue
            path = [root]
            stack = [iter(list(_targets(table, root)))]
            state[root] = 1
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    stack.pop()
                    continue
                if nxt not in table.chains or state.get(nxt) == 2:
                    continue
                if state.get(nxt) == 1:
                    loop = [*path[path.index(nxt):], nxt]
                    raise OperatorError(
                        f"chain {nxt} in {table.label()} jumps back to itself "
                        f"({' -> '.join(loop[:8])}{' ...' if len(loop) > 8 else ''})",
                        evidence="the kernel refuses rules with a jump loop (ELOOP), so "
                                 "this was not listed from a running firewall",
                        fix="give the unchanged output of nft -j list ruleset / "
                            "iptables-save from the host")
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(list(_targets(table, nxt))))
