"""Findings about the files themselves: parse errors, includes, FreePBX-generated files."""

from __future__ import annotations

from collections.abc import Iterator

from trunkconsole.conf.tree import IssueLevel, LoadedConfig, LoadIssue
from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.system import AsteriskConfig

_FIXES = {
    "include-missing": "create the file, fix the path (relative to the config directory), "
                       "or use #tryinclude if it is optional",
    "append-missing": "define the section before the (+) line, or check the filter",
    "base-missing": "define the template before the section that inherits from it; "
                    "names are looked up among earlier sections only",
    "no-section": "put the line inside a [section]",
    "bad-section": "close the section header: [name] or [name](options)",
    "bad-escape": "remove the backslash at the start of the line",
    "line-too-long": "split the value (e.g. several match= lines)",
    "no-equals": "write key=value, or comment the line out with ';'",
    "no-name": "write key=value",
    "unterminated-comment": "close the ';--' block comment with '--;'",
    "stray-comment-end": "remove the '--;' or start the block with ';--'",
    "unknown-directive": "use #include, #tryinclude or #exec",
    "include-loop": "remove the #include that leads back to this file",
    "include-depth": "flatten the includes: Asterisk follows at most 10 levels",
    "unreadable": "check the file's permissions (Asterisk runs as user asterisk)",
    "exec": "check the program's output by hand; trunkconsole never runs #exec",
}


def _severity(issue: LoadIssue, config: LoadedConfig) -> Severity:
    if issue.level == IssueLevel.FATAL:
        return Severity.CRITICAL
    if issue.level == IssueLevel.NOTE:
        return Severity.INFO
    return Severity.WARNING


def _effect(issue: LoadIssue, config: LoadedConfig) -> str:
    if issue.level != IssueLevel.FATAL:
        return ""
    if issue.file == config.filename or not config.valid:
        return (f" Asterisk cannot parse {config.filename}: at startup nothing from it "
                "loads; on reload the old settings stay.")
    return f" Asterisk ignores the rest of {issue.file} and carries on without it."


def load_findings(config: LoadedConfig) -> Iterator[Finding]:
    """One finding per parse issue of a loaded file."""
    for issue in config.issues:
        yield Finding(
            code=issue.code,
            severity=_severity(issue, config),
            title=issue.message + _effect(issue, config),
            subject=issue.file,
            evidence=(Evidence(issue.message, issue.file, issue.line),),
            fix=_FIXES.get(issue.code, ""),
        )


def freepbx_findings(system: AsteriskConfig) -> Iterator[Finding]:
    """FreePBX manages some files: say so once; warn only about hand edits in them.

    A healthy FreePBX box must check clean (exit 0): the generated files are a fact, not a
    problem. A generated file changed by hand loses the change on the next Apply Config.
    """
    docs = {doc.name: doc for doc in system.documents.by_path.values()}
    generated = [doc for doc in docs.values() if freepbx.is_generated(doc)]
    if not generated:
        return
    targets: list[str] = []
    for top in ("pjsip.conf", "extensions.conf", "rtp.conf", "manager.conf"):
        config = system.loaded.get(top)
        if config is None or not config.found:
            continue
        mine = [name for name in config.files if name in docs and
                freepbx.is_generated(docs[name])]
        for name in mine:
            custom = freepbx.preferred_custom_file(config, name, docs)
            if custom is not None and custom not in targets:
                targets.append(custom)
    names = sorted(doc.name for doc in generated)
    yield Finding(
        code="freepbx-managed",
        severity=Severity.INFO,
        title=f"FreePBX manages {len(names)} of these files; changes that must survive "
              "Apply Config go to the custom files read after them",
        subject="FreePBX",
        evidence=tuple(Evidence("FreePBX banner", name, 1) for name in names[:20]),
        fix="custom files: " + (", ".join(targets) or "none found")
            + "; trunkconsole writes there, and FreePBX's GUI will not show those changes",
    )
    for name, found in freepbx.hand_edits(generated).items():
        config_name = next((top for top, conf in system.loaded.items()
                            if name in conf.files), "pjsip.conf")
        custom = freepbx.preferred_custom_file(system.loaded[config_name], name, docs)
        # A line FreePBX cannot have written is proof; a later mtime alone is a hint (a
        # restored backup, a copy, a merge or config management touch files one by one).
        proof = any(e.line is not None for e in found)
        yield Finding(
            code="freepbx-hand-edited",
            severity=Severity.WARNING if proof else Severity.INFO,
            title=(f"{name} was edited by hand: FreePBX rewrites it on the next Apply Config "
                   "and the edit is lost") if proof else
                  (f"{name} may have been edited by hand (written after the other files of "
                   "the last Apply Config): an edit there is lost at the next Apply Config"),
            subject=name,
            evidence=tuple(Evidence(e.what, e.file, e.line) for e in found),
            fix=(f"move the change to {custom}" if custom else "move the change to a custom "
                 "file read after it") + " (or make it in FreePBX's GUI)",
        )


def duplicate_section_findings(config: LoadedConfig) -> Iterator[Finding]:
    """Two sections with one name in one file, where the reader uses only the first."""
    seen: dict[tuple[str, str], int] = {}
    for cat in config.sections():
        key = (cat.file, cat.name.lower())
        if key in seen:
            yield Finding(
                code="duplicate-section",
                severity=Severity.WARNING,
                title=f"[{cat.name}] appears twice in {cat.file}: Asterisk reads only the "
                      f"first (line {seen[key]})",
                subject=cat.name,
                evidence=(Evidence(f"[{cat.name}]", cat.file, seen[key]),
                          Evidence(f"[{cat.name}] again", cat.file, cat.line)),
                fix="merge the two sections, or use [name](+) to add to the first",
            )
        else:
            seen[key] = cat.line


def file_findings(system: AsteriskConfig) -> list[Finding]:
    """Parse and file-level findings for every file we load."""
    findings: list[Finding] = []
    for name, config in system.loaded.items():
        findings.extend(load_findings(config))
        if name in ("manager.conf", "rtp.conf", "pjsip_wizard.conf"):
            findings.extend(duplicate_section_findings(config))
    pjsip = system.loaded.get("pjsip.conf")
    if pjsip is not None and not pjsip.found:
        findings.append(Finding(
            code="pjsip-missing", severity=Severity.CRITICAL,
            title=f"no pjsip.conf in {system.config_dir}", subject="pjsip.conf",
            evidence=(Evidence("file not found", str(system.config_dir / "pjsip.conf")),),
            fix="point --config-dir at the Asterisk configuration directory"))
    findings.extend(freepbx_findings(system))
    return findings
