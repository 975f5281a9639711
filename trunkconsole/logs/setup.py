"""Where Asterisk writes its logs, and what each file carries, from logger.conf.

logger.conf `[logfiles]`: `name => [formatter]levels`; a name that is not `console` or
`syslog.*` is a file, relative to asterisk.conf's astlogdir (default /var/log/asterisk)
unless absolute; `appendhostname = yes` adds `.<hostname>`; levels include `security`,
`notice`, `verbose(N)` and `*` (all). Without logger.conf Asterisk logs to the console
only. Source: main/logger.c (make_filename, make_components, init_logger_chain).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.conf.loader import Documents, load_config
from trunkconsole.logs.clock import DEFAULT_DATEFORMAT
from trunkconsole.pjsip.objects import is_true

DEFAULT_LOG_DIR = Path("/var/log/asterisk")
FORMATTERS = ("default", "plain", "json")


@dataclass(frozen=True)
class LogChannel:
    """One `[logfiles]` file."""

    name: str  # as written in logger.conf
    path: Path  # where it is on this host
    formatter: str
    levels: frozenset[str]  # lower-case level names; "*" for all
    verbose: int | None  # verbose(N); -1 when "verbose" without a level
    line: int  # its line in logger.conf

    def carries(self, level: str) -> bool:
        return "*" in self.levels or level in self.levels

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "path": str(self.path), "formatter": self.formatter,
                "levels": sorted(self.levels), "verbose": self.verbose, "line": self.line}


@dataclass
class LoggerSetup:
    """The log files of one Asterisk, as its config directory says."""

    config_dir: Path
    log_dir: Path
    channels: list[LogChannel] = field(default_factory=list)
    dateformat: str = DEFAULT_DATEFORMAT
    logger_conf_found: bool = False
    notes: list[str] = field(default_factory=list)

    def carrying(self, level: str) -> list[LogChannel]:
        return [c for c in self.channels if c.carries(level)]

    @property
    def logger_conf(self) -> Path:
        return self.config_dir / "logger.conf"


def _parse_components(value: str) -> tuple[str, frozenset[str], int | None]:
    formatter = "default"
    rest = value
    match = re.match(r"\s*\[([^\]]*)\](.*)$", value)
    if match:
        name = match.group(1).strip().lower()
        formatter = name if name in FORMATTERS else "default"
        rest = match.group(2)
    levels: set[str] = set()
    verbose: int | None = None
    for word in (w.strip() for w in rest.split(",")):
        if not word:
            continue
        low = word.lower()
        vmatch = re.fullmatch(r"verbose\((\d+)\)", low)
        if vmatch:
            levels.add("verbose")
            verbose = int(vmatch.group(1))
        elif low == "verbose":
            levels.add("verbose")
            verbose = -1
        else:
            levels.add(low)
    return formatter, frozenset(levels), verbose


def host_path(asterisk_path: str, config_dir: Path, astetcdir: str | None) -> Path:
    """A path as Asterisk names it, on this host.

    When Asterisk runs chrooted (or in a container) its astetcdir differs from the
    directory we read the configs from; the common tail of the two gives the root prefix
    (/lab/etc vs /run/x/etc: /lab is /run/x here), and other paths map the same way.
    """
    path = Path(asterisk_path)
    if not astetcdir:
        return path
    inside = Path(astetcdir).parts
    here = config_dir.resolve().parts
    common = 0
    while (common < min(len(inside), len(here)) - 1
           and inside[-1 - common] == here[-1 - common]):
        common += 1
    if common == 0:
        return path
    inside_root = Path(*inside[:len(inside) - common])
    here_root = Path(*here[:len(here) - common])
    if inside_root == here_root:
        return path
    try:
        return here_root / path.relative_to(inside_root)
    except ValueError:
        return path


def read_setup(config_dir: Path, log_dir: Path | None = None) -> LoggerSetup:
    """logger.conf and asterisk.conf of config_dir; log_dir overrides astlogdir."""
    documents = Documents(config_dir)
    asterisk = load_config(config_dir, "asterisk.conf", documents)
    etc = asterisk.retrieve("directories", "astetcdir")
    logdir_var = asterisk.retrieve("directories", "astlogdir")
    logdir = logdir_var.value if logdir_var is not None else str(DEFAULT_LOG_DIR)
    resolved = log_dir if log_dir is not None else host_path(
        logdir, config_dir, etc.value if etc is not None else None)
    setup = LoggerSetup(config_dir=config_dir, log_dir=resolved)
    logger = load_config(config_dir, "logger.conf", documents)
    setup.logger_conf_found = logger.found
    if not logger.found:
        setup.notes.append(f"no logger.conf in {config_dir}: Asterisk logs to its console only")
        return setup
    dateformat = logger.retrieve("general", "dateformat")
    if dateformat is not None and dateformat.value.strip():
        setup.dateformat = dateformat.value.strip()
    append = logger.retrieve("general", "appendhostname")
    suffix = "." + socket.gethostname() if append is not None and is_true(append.value) else ""
    section = logger.first("logfiles")
    for var in section.variables if section is not None else []:
        name = var.name.strip()
        low = name.lower()
        if low == "console" or low.startswith("syslog"):
            if low.startswith("syslog"):
                setup.notes.append(f"logger.conf:{var.line}: {name} goes to syslog, which "
                                   "trunkconsole does not read")
            continue
        formatter, levels, verbose = _parse_components(var.value)
        if name.startswith("/"):
            path = host_path(name + suffix, config_dir, etc.value if etc is not None else None)
        else:
            path = resolved / (name + suffix)
        setup.channels.append(LogChannel(name, path, formatter, levels, verbose, var.line))
    return setup
