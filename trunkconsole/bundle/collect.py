"""What goes into an incident bundle, each part read now and named in MANIFEST.txt.

Secrets: the resolved config goes through `config show`'s masking (password, md5_cred,
secret options, values from files outside the config directory); then every member is
scanned for the secret values themselves (the AMI secret, every auth password, every
manager.conf secret) and any occurrence is replaced: a secret copied into a comment, a
log line or a SIP message is caught too.
"""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole import __version__
from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.check import CheckOptions
from trunkconsole.settings import AmiTarget

REDACTED = "********"


@dataclass
class Bundle:
    """Members (name -> text) and the notes of what could not be included."""

    members: dict[str, str] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def add(self, name: str, text: str) -> None:
        self.members[name] = text

    def add_json(self, name: str, data: Any) -> None:
        self.members[name] = json.dumps(data, indent=2, default=str) + "\n"

    def redact(self) -> int:
        """Replace every known secret value in every member; how many were replaced."""
        count = 0
        for secret in sorted((s for s in self.secrets if len(s) >= 4), key=len, reverse=True):
            for name, text in self.members.items():
                if secret in text:
                    count += text.count(secret)
                    self.members[name] = text.replace(secret, REDACTED)
        return count


def config_part(bundle: Bundle, config_dir: Path) -> Any:
    from trunkconsole.masking import object_json, shown_value
    from trunkconsole.pjsip import freepbx
    from trunkconsole.pjsip.system import load_asterisk

    if not config_dir.is_dir():
        bundle.gaps.append(f"config: {config_dir} is not a directory")
        return None
    system = load_asterisk(config_dir)
    custom = freepbx.custom_values(list(system.documents.by_path.values()))
    for obj in system.pjsip.objects:
        for option in obj.options:
            if shown_value(option.name, "x", "") == REDACTED:
                bundle.secrets.add(option.value)
    for category in system.loaded["manager.conf"].categories:
        for var in category.variables:
            if var.name.lower() == "secret" and var.value:
                bundle.secrets.add(var.value)
    bundle.add_json("config/pjsip-resolved.json", {
        "config_dir": str(config_dir),
        "objects": [object_json(obj, custom) for obj in system.pjsip.objects],
        "rtp": system.rtp.to_json()})
    bundle.add_json("config/identifies.json", [
        object_json(obj, custom) for obj in system.pjsip.objects if obj.type == "identify"])
    return system


def checks_part(bundle: Bundle, options: CheckOptions, config_dir: Path,
                ami_target: Callable[[], AmiTarget] | None = None) -> None:
    from trunkconsole.pjsip.check import CheckContext, run_checks

    result = run_checks(CheckContext(config_dir=config_dir, options=options,
                                     ami_target=ami_target))
    bundle.add_json("findings.json", {"status": result.status,
                                      "unavailable": result.unavailable,
                                      "findings": [f.to_json() for f in result.findings]})


def network_part(bundle: Bundle, config_dir: Path, system: Any) -> None:
    from trunkconsole.diagnose.evidence import Evidence
    from trunkconsole.diagnose.gather import network_evidence

    ev = Evidence(config=system)
    network_evidence(ev, config_dir)
    if ev.network is not None:
        bundle.add_json("firewall/verdicts.json", ev.network.to_json())
    bundle.gaps.extend(ev.gaps)
    for name, command in (("firewall/nft-ruleset.txt", ["nft", "list", "ruleset"]),
                          ("firewall/iptables-save.txt", ["iptables-save"]),
                          ("firewall/ip6tables-save.txt", ["ip6tables-save"])):
        bundle.add(name, _run(bundle, command))


def journal_part(bundle: Bundle, journal: Path, since: float) -> None:
    from trunkconsole.journal.history import build_history

    try:
        if not journal.exists():
            bundle.gaps.append(f"journal: none at {journal} (trunkconsole watch not running?)")
            return
        history = build_history(journal, since)
    except OperatorError as exc:
        bundle.gaps.append(f"journal: {exc.what}")
        return
    except OSError as exc:  # a journal under a directory this user may not read
        bundle.gaps.append(f"journal: {journal}: {exc.strerror or exc}")
        return
    bundle.add_json("journal/history.json", history.to_json())


def logs_part(bundle: Bundle, config_dir: Path, since: float, log_dir: Path | None) -> None:
    from trunkconsole.logs.record import read_logs

    record = read_logs(config_dir, since, log_dir=log_dir)
    bundle.add("asterisk-logs/excerpt.log", "".join(e.text + "\n" for e in record.events))
    bundle.gaps.extend(f"logs: {gap}" for gap in record.gaps)


def live_part(bundle: Bundle, target: AmiTarget) -> bool:
    """Versions, `pjsip show channelstats`, the SIP logger's capture (if it is on); False
    when AMI could not be used (the live checks then need not wait for it again)."""
    bundle.secrets.add(target.secret.reveal())

    async def run() -> None:
        from trunkconsole.ami.oneshot import ami_session
        from trunkconsole.changes.sip_logger import SipLogger, state_file_for

        async with ami_session(target) as ami:
            bundle.add("asterisk/core-show-version.txt",
                       "\n".join(await ami.command("core show version")) + "\n")
            bundle.add("asterisk/pjsip-show-channelstats.txt",
                       "\n".join(await ami.command("pjsip show channelstats")) + "\n")
            bundle.add("asterisk/pjsip-show-contacts.txt",
                       "\n".join(await ami.command("pjsip show contacts")) + "\n")
            logger = SipLogger(ami, state_file_for(target.address))
            state = logger.state()
            if state is None:
                bundle.gaps.append("SIP logger: not on, no capture")
                return
            logger.last_seen = state.baseline
            messages = await logger.poll()
            bundle.add("sip-logger/capture.txt", "".join(
                f"--- {m.number} {'<==' if m.received else '==>'} {m.address} "
                f"{m.timestamp}\n{m.text}\n" for m in messages))

    try:
        asyncio.run(run())
    except OperatorError as exc:
        bundle.gaps.append(f"AMI: {exc.what}")
        return False
    return True


def versions_part(bundle: Bundle) -> None:
    lines = [f"trunkconsole {__version__}", f"python {sys.version.split()[0]}",
             f"kernel {platform.release()}", f"host {platform.node()}",
             f"bundle made {time.strftime('%Y-%m-%dT%H:%M:%S%z')}",
             _run(bundle, ["nft", "--version"]).strip()]
    bundle.add("versions.txt", "\n".join(lines) + "\n")


def _run(bundle: Bundle, command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        bundle.gaps.append(f"{' '.join(command)}: {exc}")
        return ""
    if out.returncode != 0:
        bundle.gaps.append(f"{' '.join(command)}: exit {out.returncode}: "
                           f"{out.stderr.strip()[:200]}")
    return out.stdout
