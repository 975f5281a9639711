"""The config lint: every finding about one Asterisk config directory."""

from __future__ import annotations

from collections.abc import Iterator

from trunkconsole.conf.gcpause import gc_paused
from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.dialplan_reach import DialplanReach
from trunkconsole.pjsip.lint_files import file_findings
from trunkconsole.pjsip.lint_nat import nat_findings
from trunkconsole.pjsip.lint_objects import object_findings
from trunkconsole.pjsip.lint_trunks import trunk_findings
from trunkconsole.pjsip.manager import CLASSES
from trunkconsole.pjsip.system import AsteriskConfig


def rtp_findings(system: AsteriskConfig) -> Iterator[Finding]:
    """rtp.conf values Asterisk corrects or discards."""
    rtp = system.rtp
    line = rtp.start_line or rtp.end_line
    for note in rtp.notes:
        yield Finding(
            code="rtp-range", severity=Severity.WARNING,
            title=f"{note}; Asterisk uses {rtp.start}-{rtp.end}",
            subject="rtp.conf",
            evidence=(Evidence(note, line.file if line else "rtp.conf",
                               line.line if line else None),),
            fix="set an even rtpstart below rtpend, both within 1024-65535")


def manager_findings(system: AsteriskConfig) -> Iterator[Finding]:
    """read=/write= tokens that grant less than they seem to (blanks, case)."""
    for user in system.manager.users.values():
        for var in (user.read_line, user.write_line):
            if var is None:
                continue
            tokens = var.value.split(",")
            odd = [t for t in tokens if t and (t != t.strip() or (
                t.strip().lower() in CLASSES and t.strip() not in CLASSES))]
            if odd:
                yield Finding(
                    code="manager-class-token", severity=Severity.WARNING,
                    title=f"AMI user {user.name}: {var.name}= tokens "
                          f"{', '.join(repr(t) for t in odd)} do not grant what they say "
                          "(class names are case-sensitive and blanks are not trimmed)",
                    subject=user.name,
                    evidence=(Evidence(f"{var.name}={var.value}", var.file, var.line),),
                    fix=f"write {var.name}=" + ",".join(t.strip().lower() for t in tokens))
            if "" in tokens[:-1]:
                yield Finding(
                    code="manager-class-empty", severity=Severity.WARNING,
                    title=f"AMI user {user.name}: an empty token in {var.name}= grants "
                          "every class",
                    subject=user.name,
                    evidence=(Evidence(f"{var.name}={var.value}", var.file, var.line),),
                    fix="remove the doubled comma")


def trunk_plan(system: AsteriskConfig) -> DialplanReach | None:
    """extensions.conf to follow trunk contexts in; None when there is none to read."""
    conf = system.loaded.get("extensions.conf")
    if conf is None or not conf.found or not conf.valid:
        return None
    pjsip = system.pjsip

    def is_trunk(name: str) -> bool:  # phones authenticate; a Dial through one is no trunk
        endpoint = pjsip.get("endpoint", name)
        return endpoint is None or not endpoint.items("auth")

    return DialplanReach(conf, is_trunk)


def managed_files(system: AsteriskConfig) -> frozenset[str]:
    """Names of the files FreePBX generates (its banner)."""
    return frozenset(doc.name for doc in system.documents.by_path.values()
                     if freepbx.is_generated(doc))


def config_findings(system: AsteriskConfig) -> list[Finding]:
    """Files, objects, trunks, NAT, RTP range and AMI users, in that order."""
    with gc_paused():
        return _config_findings(system)


def _config_findings(system: AsteriskConfig) -> list[Finding]:
    return [
        *file_findings(system),
        *object_findings(system),
        *trunk_findings(system.pjsip, trunk_plan(system), managed_files(system)),
        *nat_findings(system.pjsip),
        *rtp_findings(system),
        *manager_findings(system),
    ]
