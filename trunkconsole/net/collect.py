"""Read the firewall of this host (or of a named network namespace).

Reading needs CAP_NET_ADMIN: as an ordinary user `nft list ruleset` fails with
"Operation not permitted", and so do iptables-save and /proc/net/ip_tables_names
(reference §2.1). The `nftables` Python module is used when importable (Debian's
python3-nftables; it is not on PyPI), else `nft -j list ruleset` as a subprocess.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole.conf.gcpause import gc_paused
from trunkconsole.errors import MissingToolError, OperatorError
from trunkconsole.net.ingress import fill_devices
from trunkconsole.net.ir import Ruleset
from trunkconsole.net.nftjson import parse_ruleset
from trunkconsole.net.nsexec import (
    namespace_pool,
    pool_proc_reader,
    pool_runner,
    run_command,
)
from trunkconsole.net.ruleset import assemble
from trunkconsole.readable import read_regular

Runner = Callable[[list[str]], tuple[int, str, str]]
TIMEOUT = 10.0
WHAT_STILL_WORKS = ("without it, `trunkconsole firewall report` still checks addresses, routes "
                    "and listening sockets; or copy the rules from the box "
                    "(nft -j list ruleset > rules.json) and use --ruleset rules.json")


class FirewallUnreadable(OperatorError):
    """The rules cannot be read (no CAP_NET_ADMIN); host facts can still be checked."""


def subprocess_runner(netns: str | None = None, timeout: float = TIMEOUT) -> Runner:
    """Run commands on this host, or inside `ip netns exec NETNS` when netns is given."""

    def run(cmd: list[str]) -> tuple[int, str, str]:
        return run_command(["ip", "netns", "exec", netns, *cmd] if netns else cmd, timeout)

    return run


@dataclass
class Capture:
    """The raw material: nft JSON, -save dumps, and what could not be read."""

    nft_json: str | None = None
    saves: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None  # nft_json, already decoded
    ipsets: list[str] = field(default_factory=list)  # `ipset save` dumps

    def ruleset(self) -> Ruleset:
        source = self.document if self.document is not None else self.nft_json
        with gc_paused():
            nft = parse_ruleset(source) if source is not None else None
            ruleset = assemble(nft, self.saves, self.ipsets)
        ruleset.notes[:0] = self.notes
        return ruleset


def _denied(stderr: str) -> bool:
    text = stderr.lower()
    return "operation not permitted" in text or "permission denied" in text


def nft_listing(run: Runner, *, use_module: bool = True) -> str:
    """`nft -j list ruleset` (with handles), via libnftables when the module imports."""
    if use_module:
        try:
            import nftables

            ctx = nftables.Nftables()
            ctx.set_json_output(True)
            ctx.set_handle_output(True)
            rc, out, err = ctx.cmd("list ruleset")
            if rc == 0:
                return str(out) or '{"nftables": []}'
            if _denied(str(err)):
                raise _unreadable(str(err))
        except ImportError:
            pass
        except OSError:
            pass  # libnftables.so.1 missing: try the binary
    rc, out, err = run(["nft", "-j", "list", "ruleset"])
    if rc == 127:
        raise MissingToolError("nft", "nftables")
    if rc != 0:
        if _denied(err):
            raise _unreadable(err)
        raise OperatorError("nft -j list ruleset failed", evidence=err.strip()[-300:],
                            fix="run `nft -j list ruleset` by hand to see why")
    return out or '{"nftables": []}'


def _unreadable(err: str) -> FirewallUnreadable:
    return FirewallUnreadable(
        "reading the firewall needs CAP_NET_ADMIN (root)",
        evidence=err.strip().splitlines()[-1] if err.strip() else "permission denied",
        fix=f"run as root (sudo), or grant CAP_NET_ADMIN; {WHAT_STILL_WORKS}",
    )


def _save_tool(run: Runner, family: str) -> str | None:
    base = "ip6tables" if family == "ip6" else "iptables"
    for name in (f"{base}-nft-save", f"{base}-save"):
        if shutil.which(name) is None:
            continue
        if name.endswith("-nft-save"):
            return name
        _, out, err = run([name, "--version"])
        if "nf_tables" in out + err:
            return name
    return None


def _legacy_tables(read_proc: Callable[[str], str | None], family: str) -> list[str]:
    path = "/proc/net/ip6_tables_names" if family == "ip6" else "/proc/net/ip_tables_names"
    text = read_proc(path)
    return [] if text is None else text.split()


def capture(netns: str | None = None, run: Runner | None = None,
            read_proc: Callable[[str], str | None] | None = None) -> Capture:
    """Everything the kernel runs for inbound packets, read the way reference §8 says.

    Only listings that can hold something start, side by side: legacy -save only where
    /proc/net/ip{,6}_tables_names lists a table (iptables-nft leaves those files empty);
    iptables-nft-save only for a family whose nft JSON shows `xt` statements; `ipset save`
    only when a rule can match a set (xt `set`, or legacy tables). In a netns the pool's
    threads join it (net/nsexec.py), so each listing is one process."""
    injected = run is not None
    pool = ThreadPoolExecutor(max_workers=4) if injected else namespace_pool(netns, 4)
    run = run or pool_runner(netns, TIMEOUT)
    reader = read_proc or (_proc_reader(netns, run) if injected
                           else pool_proc_reader(netns, run))
    with pool:
        listing = pool.submit(nft_listing, run, use_module=netns is None)
        legacy_names = {f: pool.submit(_legacy_tables, reader, f) for f in ("ip", "ip6")}
        legacy = {f: pool.submit(_legacy_save, run, f) for f, names in legacy_names.items()
                  if names.result()}
        ipsets = pool.submit(run, ["ipset", "save"]) if legacy else None
        result = Capture(nft_json=listing.result())
        with gc_paused():
            result.document = json.loads(result.nft_json or "{}")
        xt_families, set_match = _xt_use(result)
        tools = {f: _save_tool(run, f) for f in sorted(xt_families & {"ip", "ip6"})}
        nft_saves = {f: pool.submit(run, [tool]) for f, tool in tools.items() if tool}
        if ipsets is None and set_match:
            ipsets = pool.submit(run, ["ipset", "save"])
        # nft 1.0.6 JSON omits an ingress chain's device: `nft list chain` for those,
        # beside the saves (a joined thread: in the namespace)
        devices = pool.submit(fill_devices, result.document, run)
        for family, tool in tools.items():
            if tool is None:
                result.notes.append(f"{family} tables hold iptables-nft rules but no "
                                    "nf_tables iptables-save is installed (apt-get install "
                                    "iptables)")
                continue
            rc, out, err = nft_saves[family].result()
            if rc == 0:
                result.saves.append(out)
            else:
                result.notes.append(f"{tool} failed: {err.strip()[-200:]}")
        for family in ("ip", "ip6"):
            out, note = legacy[family].result() if family in legacy else ("", "")
            if out:
                result.saves.append(out)
            if note:
                result.notes.append(note)
        if ipsets is not None and any("--match-set" in text for text in result.saves):
            rc, out, err = ipsets.result()
            if rc == 0:
                result.ipsets.append(out)
            else:
                result.notes.append("rules match ipsets but `ipset save` failed "
                                    f"({err.strip()[-160:] or rc}): those matches are "
                                    "undecided (apt-get install ipset)")
        devices.result()
    return result


def _xt_use(result: Capture) -> tuple[set[str], bool]:
    """(families whose nft rules hold xt statements, whether one may be `-m set`).

    nft before 1.0.6 prints `{"xt": null}` without the match's name: counted as a set."""
    families: set[str] = set()
    set_match = False
    if '"xt"' not in (result.nft_json or ""):  # cheap test before walking 5,000 rules
        return families, set_match
    for item in (result.document or {}).get("nftables", []):
        rule = item.get("rule") if isinstance(item, dict) else None
        if not isinstance(rule, dict):
            continue
        for stmt in rule.get("expr", []):
            if isinstance(stmt, dict) and "xt" in stmt:
                families.add(str(rule.get("family")))
                xt = stmt["xt"]
                set_match = set_match or not isinstance(xt, dict) or xt.get("name") in (
                    None, "set")
    return families, set_match


def _legacy_save(run: Runner, family: str) -> tuple[str, str]:
    """(iptables-legacy-save output or "", a note or "") for a family with legacy tables."""
    tool = "ip6tables-legacy-save" if family == "ip6" else "iptables-legacy-save"
    rc, out, err = run([tool])
    if rc == 127:
        return "", (f"legacy {family} tables are present but {tool} is missing "
                    "(apt-get install iptables): their drops are not evaluated")
    if rc != 0:
        return "", f"{tool} failed: {err.strip()[-200:]}"
    if "-A " in out or ":INPUT DROP" in out or ":PREROUTING DROP" in out:
        return out, ""
    return "", ""


def _proc_reader(netns: str | None, run: Runner) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        if netns is None:
            try:
                return Path(path).read_text()
            except (FileNotFoundError, PermissionError):
                return None
        rc, out, _ = run(["cat", path])
        return out if rc == 0 else None

    return read


def read_ruleset(netns: str | None = None) -> Ruleset:
    """The live ruleset of this host or of `netns` (needs CAP_NET_ADMIN)."""
    return capture(netns).ruleset()


def load_files(ruleset_json: Path | None, save_files: list[Path],
               ipset_files: list[Path] | None = None) -> Ruleset:
    """A ruleset from copies taken on another box (`--ruleset`, `--iptables-save`,
    `--ipset-save`)."""
    nft_text = read_text(ruleset_json) if ruleset_json is not None else None
    saves = [read_text(p) for p in save_files]
    ipsets = [read_text(p) for p in ipset_files or []]
    return Capture(nft_json=nft_text, saves=saves, ipsets=ipsets).ruleset()


MAX_FILE = 256 * 1024 * 1024  # a 100,000-element set listing is ~1.5 MB (reference §2.1)


def read_text(path: Path) -> str:
    """A rules file as text; unreadable, oversized or non-UTF-8 is an OperatorError."""
    try:
        data = read_regular(path, MAX_FILE, "rules file")
    except OSError as exc:
        raise OperatorError(f"cannot read {exc.filename or path}", evidence=exc.strerror or "",
                            fix="check the path") from exc
    if len(data) > MAX_FILE:
        raise OperatorError(f"{path} is larger than {MAX_FILE // 2**20} MB",
                            fix="give the output of nft -j list ruleset / iptables-save")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OperatorError(f"{path} is not text (not UTF-8 at byte {exc.start})",
                            evidence=repr(data[exc.start:exc.start + 16]),
                            fix="give the output of nft -j list ruleset, iptables-save or "
                                "ipset save, unchanged") from exc
