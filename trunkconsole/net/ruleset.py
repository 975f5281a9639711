"""Assemble what the kernel runs: nft JSON, with iptables-save standing in for xt tables,
plus legacy iptables tables that nft cannot see.

For every (family, table) whose JSON rules contain `xt`, the rules come from
`iptables-save -t TABLE` while hooks, priorities and policies stay from JSON
(reference §3.1). Legacy tables join as separate tables: the kernel runs legacy hooks and
nftables base chains alike, and a drop in either wins (§3.3).
"""

from __future__ import annotations

from trunkconsole.errors import OperatorError
from trunkconsole.net.ipset import IpSet, is_ipset_save, parse_ipset_save
from trunkconsole.net.iptsave import MAX_RULES, detect, parse_save
from trunkconsole.net.ir import Ruleset, Table


def assemble(nft: Ruleset | None, saves: list[str], ipset_saves: list[str] | None = None,
             ) -> Ruleset:
    """One Ruleset from an nft listing (or none), -save dumps and `ipset save` dumps.

    ipsets are kernel objects shared by legacy and nft iptables; an `ipset save` dump
    among `saves` is recognised by its `create` lines."""
    ruleset = nft if nft is not None else Ruleset()
    replaced: set[tuple[str, str]] = set()
    left_out: list[str] = []
    ipsets: dict[str, IpSet] | None = None
    for text in [*(ipset_saves or []), *(t for t in saves if is_ipset_save(t))]:
        ipsets = {**(ipsets or {}), **parse_ipset_save(text)}
    ruleset.ipsets = ipsets
    for text in saves:
        if is_ipset_save(text):
            continue
        family, source = detect(text)
        for table in parse_save(text, family, source, ipsets):
            if source == "iptables-legacy":
                ruleset.tables.append(table)
                continue
            existing = ruleset.table(table.family, table.name, "nft")
            if existing is None:
                if nft is None or not nft.tables:
                    ruleset.tables.append(table)
                else:  # an nf_tables backend table lives in nft's listing, or nowhere
                    left_out.append(f"{table.family} {table.name}")
                continue
            if not existing.has_xt:
                continue  # JSON already holds every match, with handles
            _substitute(ruleset, existing, table)
            replaced.add((table.family, table.name))
    if left_out:
        ruleset.notes.append(
            f"iptables-save tables {', '.join(left_out)} (nf_tables backend, or no header) "
            "are not in the nft listing, so they were left out; a legacy dump keeps its "
            "`iptables-save v1.8 (legacy)` header")
    rules = sum(len(chain.rules) for table in ruleset.tables for chain in table.chains.values())
    if rules > MAX_RULES:
        raise OperatorError(f"the rules hold {rules:,} rules, more than the {MAX_RULES:,} "
                            "trunkconsole judges (each is compiled and walked: beyond that "
                            "a verdict takes minutes and gigabytes)",
                            fix="give only the tables that filter SIP and RTP (nft -j list "
                            "table inet filter, iptables-save -t filter), or ipsets instead "
                            "of one rule per address")
    for table in list(ruleset.tables):
        if table.source == "nft" and table.has_xt and (table.family, table.name) not in replaced:
            ruleset.notes.append(
                f"table {table.label()} holds iptables-nft matches that nft's JSON does not "
                f"show (multiport, conntrack...): rules with them are undecided; give "
                f"{'ip6tables' if table.family == 'ip6' else 'iptables'}-save output too")
    return ruleset


def _substitute(ruleset: Ruleset, existing: Table, table: Table) -> None:
    for name, chain in table.chains.items():
        original = existing.chains.get(name)
        if original is not None and original.hook is not None:
            chain.hook, chain.prio, chain.policy = original.hook, original.prio, original.policy
            chain.type, chain.devices = original.type, original.devices
    table.handle = existing.handle
    ruleset.tables[ruleset.tables.index(existing)] = table
