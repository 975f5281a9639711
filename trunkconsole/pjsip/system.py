"""Everything trunkconsole reads from one Asterisk config directory, loaded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.conf.gcpause import gc_paused
from trunkconsole.conf.loader import Documents, load_config
from trunkconsole.conf.tree import LoadedConfig
from trunkconsole.pjsip.dialplan import Dialplan, dialplan
from trunkconsole.pjsip.manager import ManagerConfig, manager_config
from trunkconsole.pjsip.objects import is_true
from trunkconsole.pjsip.resolve import PjsipConfig, resolve
from trunkconsole.pjsip.rtp import RtpRange, rtp_range

FILES = ("pjsip.conf", "pjsip_wizard.conf", "rtp.conf", "extensions.conf", "manager.conf")


@dataclass
class AsteriskConfig:
    """The loaded files and the models built from them."""

    config_dir: Path
    documents: Documents
    loaded: dict[str, LoadedConfig] = field(default_factory=dict)
    exec_includes: bool = False
    pjsip: PjsipConfig = field(default_factory=PjsipConfig)
    rtp: RtpRange = field(default_factory=RtpRange)
    dialplan: Dialplan = field(default_factory=Dialplan)
    manager: ManagerConfig = field(default_factory=ManagerConfig)


def load_asterisk(config_dir: Path) -> AsteriskConfig:
    """Load pjsip.conf, pjsip_wizard.conf, rtp.conf, extensions.conf and manager.conf.

    `#exec` runs only with execincludes=yes in asterisk.conf [options]
    (main/config.c); we note it either way and never run it.
    """
    with gc_paused():
        return _load_asterisk(config_dir)


def _load_asterisk(config_dir: Path) -> AsteriskConfig:
    documents = Documents(config_dir)
    asterisk = load_config(config_dir, "asterisk.conf", documents)
    exec_var = asterisk.retrieve("options", "execincludes") if asterisk.found else None
    exec_includes = exec_var is not None and is_true(exec_var.value)
    result = AsteriskConfig(config_dir=config_dir, documents=documents,
                            exec_includes=exec_includes)
    result.loaded["asterisk.conf"] = asterisk
    for name in FILES:
        result.loaded[name] = load_config(config_dir, name, documents, exec_includes)
    result.pjsip = resolve(result.loaded["pjsip.conf"], result.loaded["pjsip_wizard.conf"])
    result.rtp = rtp_range(result.loaded["rtp.conf"])
    result.dialplan = dialplan(result.loaded["extensions.conf"])
    result.manager = manager_config(result.loaded["manager.conf"])
    return result
