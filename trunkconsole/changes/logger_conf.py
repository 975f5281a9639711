"""Turn Asterisk's file logging on for what `check` reads: a reviewed logger.conf edit.

Only the first `[logfiles]` section counts (init_logger_chain browses one category), so
the line goes into that section, in whichever file defines it; without logger.conf
Asterisk logs to the console only, and the file is created. `Reload Module: logger` makes
the logger re-read it ("Module Reloaded"); `logger show channels` lists the files.
"""

from __future__ import annotations

from pathlib import Path

from trunkconsole.changes.changeset import AmiActions, ChangeSet, Unchanged, Verdict, Verifier
from trunkconsole.changes.files import snapshot
from trunkconsole.conf import edit
from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.loader import load_config
from trunkconsole.errors import OperatorError
from trunkconsole.logs.record import NOTICE_LINE, SECURITY_LINE
from trunkconsole.logs.setup import read_setup

RELOAD_LOGGER = "logger"
DEFAULT_CONSOLE = "error,warning,notice,verbose"  # init_logger_chain without a config


def _wanted(config_dir: Path) -> list[tuple[str, str, str]]:
    """(file name, levels, level shown by `logger show channels`) still missing."""
    setup = read_setup(config_dir)
    wanted = []
    if not setup.carrying("security"):
        name, _, levels = SECURITY_LINE.partition(" => ")
        wanted.append((name, levels, "SECURITY"))
    if not setup.carrying("notice"):
        name, _, levels = NOTICE_LINE.partition(" => ")
        wanted.append((name, levels, "NOTICE"))
    return wanted


def plan_logging(config_dir: Path) -> ChangeSet:
    """The ChangeSet adding the missing [logfiles] lines; Unchanged when none is missing."""
    wanted = _wanted(config_dir)
    if not wanted:
        setup = read_setup(config_dir)
        # Checked live too: a logger.conf nobody reloaded, or a file Asterisk cannot open
        # (`logger show channels` says Disabled), does not log yet.
        live = [(channel.name, shown) for level, shown in (("security", "SECURITY"),
                                                           ("notice", "NOTICE"))
                for channel in setup.carrying(level)[:1] if level in channel.levels]
        raise Unchanged("Asterisk already logs security events and notices to files",
                        evidence=f"{config_dir}/logger.conf [logfiles]",
                        verify=_verify(live) if live else None)
    for name, _levels, _shown in wanted:
        if (config_dir / "logger.conf").exists() and name in _names(config_dir):
            raise OperatorError(f"logger.conf already has a [logfiles] entry {name!r} with "
                                "other levels", fix="add the level to that line by hand")
    loaded = load_config(config_dir, "logger.conf")
    section = loaded.first("logfiles") if loaded.found else None
    file_name = section.file if section is not None else "logger.conf"
    path = Path(file_name) if Path(file_name).is_absolute() else config_dir / file_name
    before = snapshot(path)
    if not before.exists:
        # Without logger.conf the console gets error,warning,notice,verbose: keep that.
        body = "".join(f"{n} => {lv}\n" for n, lv, _s in wanted)
        text = (f"; written by trunkconsole logs enable\n[logfiles]\n"
                f"console => {DEFAULT_CONSOLE}\n{body}")
        changeset = ChangeSet("create logger.conf: log security events and notices to files")
        changeset.add(path, text.encode(), before)
        changeset.reloads = [RELOAD_LOGGER]
        changeset.verify = _verify([(n, s) for n, _l, s in wanted])
        return changeset
    doc = ConfigFile.from_bytes(before.content, name=file_name, path=path)
    headers = [i for i, line in doc.sections() if line.name.lower() == "logfiles"]
    if headers:
        for name, levels, _shown in wanted:
            edit.add_setting(doc, headers[0], name, levels, op="=>")
    else:
        edit.add_section(doc, "logfiles", [(n, lv) for n, lv, _s in wanted], op="=>")
    changeset = ChangeSet("log security events and notices to files for trunkconsole check")
    changeset.add(path, doc.render(), before)
    changeset.reloads = [RELOAD_LOGGER]
    changeset.verify = _verify([(n, s) for n, _l, s in wanted])
    return changeset


def _names(config_dir: Path) -> set[str]:
    return {c.name for c in read_setup(config_dir).channels}


def _verify(expected: list[tuple[str, str]]) -> Verifier:
    async def verify(ami: AmiActions) -> Verdict:
        lines = await ami.command("logger show channels")
        missing = [name for name, level in expected
                   if not any(name in line and level in line and "Enabled" in line
                              for line in lines)]
        if missing:
            return Verdict(False, "`logger show channels` does not list "
                                  + ", ".join(missing) + " as enabled")
        return Verdict(True, "logger writes " + ", ".join(n for n, _ in expected))
    return verify
