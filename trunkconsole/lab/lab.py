"""One lab: namespaces, Asterisk, the carrier, and the state that lets `down` clean up.

State lives in /run/trunkconsole/labs/NAME (tmpfs: gone after a reboot, like the
namespaces). `up` cleans up what it made when it fails; `down` stops only the processes
the lab started (by pid) and removes its namespaces.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.lab import carrier, fail2ban, pbx, rootfs
from trunkconsole.lab.addresses import CARRIER_ADDRESS, PBX_ADDRESS
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.network import LabNetwork
from trunkconsole.lab.system import require_root, require_tools, spawn
from trunkconsole.visible import echo

RUN_DIR = Path("/run/trunkconsole/labs")
NAME_RE = re.compile(r"^[a-z0-9]{1,8}\Z")
TOOLS = ("ip", "unshare", "nsenter", "chroot", "sipp")
Log = Callable[[str], None]


@dataclass
class LabState:
    """What a running lab is made of (written to state.json)."""

    name: str
    rootfs: str
    asterisk_pid: int = 0
    uas_pid: int = 0
    uas_mode: str = ""
    asterisk_version: str = ""
    started_at: float = field(default_factory=time.time)
    carrier_address: str = CARRIER_ADDRESS  # where the carrier lives now (scenarios move it)
    scenario: str = ""
    call_pids: list[int] = field(default_factory=list)  # background call bursts
    fail2ban_pid: int = 0  # scenario provider-banned: fail2ban-server in the PBX namespace


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise OperatorError(f"lab name {name!r} is not valid",
                            fix="use 1-8 lower-case letters or digits, e.g. demo or test")
    return name


class Lab:
    """A lab by name; its pieces are found from the name and state.json."""

    def __init__(self, name: str = "demo", cache: Path | None = None) -> None:
        self.name = check_name(name)
        self.network = LabNetwork(self.name)
        self.dir = RUN_DIR / self.name
        self.cache = rootfs.cache_dir(cache)

    # -- facts -----------------------------------------------------------------------
    @property
    def pbx_ns(self) -> str:
        return self.network.pbx_ns

    @property
    def carrier_ns(self) -> str:
        return self.network.carrier_ns

    @property
    def config_dir(self) -> Path:
        """The PBX's Asterisk config directory as seen from the host."""
        return self.dir / "etc"

    @property
    def secret_file(self) -> Path:
        return self.dir / "ami.secret"

    @property
    def log_dir(self) -> Path:
        return self.dir / "log"

    def state(self) -> LabState | None:
        try:
            return LabState(**json.loads((self.dir / "state.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, state: LabState) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(state), indent=2))
        tmp.replace(self.dir / "state.json")

    def secret(self) -> str:
        return self.secret_file.read_text().strip()

    def ami(self, timeout: float = 10.0) -> AmiProbe:
        """A blocking AMI session to the lab PBX (for tests and lab commands)."""
        return AmiProbe(self.pbx_ns, pbx.AMI_USER, self.secret(), timeout=timeout)

    def attach_command(self) -> list[str]:
        """How to open the console on this lab's PBX."""
        return ["ip", "netns", "exec", self.pbx_ns, "trunkconsole",
                "--secret-file", str(self.secret_file), "--config-dir", str(self.config_dir)]

    def is_running(self) -> bool:
        state = self.state()
        return state is not None and pbx.alive(state.asterisk_pid)

    # -- lifecycle -------------------------------------------------------------------
    def up(self, *, rebuild: bool = False, uas_mode: str = "answer",
           log: Log = echo) -> LabState:
        """Bring the lab up; returns only once AMI reports FullyBooted."""
        require_root("trunkconsole lab up")
        require_tools(*TOOLS)
        if self.is_running() and not rebuild:
            state = self.state()
            assert state is not None
            log(f"lab '{self.name}' is already up")
            return state
        if rebuild and any(Lab(p.name).is_running() for p in _lab_dirs()):
            raise OperatorError("cannot rebuild the root filesystem while a lab runs",
                                fix="trunkconsole lab down --name NAME for each running lab")
        root = rootfs.ensure_rootfs(self.cache, rebuild=rebuild, log=log)
        self.down(log=lambda _m: None)  # leftovers of a crashed run
        try:
            return self._start(root, uas_mode, log)
        except BaseException:
            self.down(log=lambda _m: None)
            raise

    def _start(self, root: Path, uas_mode: str, log: Log) -> LabState:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.network.create()
        secret = pbx.render_configs(self.dir)
        state = LabState(name=self.name, rootfs=str(root))
        state.uas_pid = carrier.start_uas(self.carrier_ns, uas_mode, self.log_dir)
        state.uas_mode = uas_mode
        self._save(state)
        state.asterisk_pid = pbx.start(root, self.dir, self.pbx_ns)
        self._save(state)
        state.asterisk_version = pbx.wait_fully_booted(
            state.asterisk_pid, self.pbx_ns, secret, self.dir)
        self._save(state)
        log(f"lab '{self.name}' up: Asterisk {state.asterisk_version} at {PBX_ADDRESS} "
            f"(namespace {self.pbx_ns}), carrier at {CARRIER_ADDRESS} ({self.carrier_ns})")
        log(f"AMI 127.0.0.1:5038 inside {self.pbx_ns}, user {pbx.AMI_USER}, "
            f"secret in {self.secret_file}")
        log("attach: " + " ".join(self.attach_command()) + "   (or: trunkconsole lab console)")
        return state

    def down(self, log: Log = echo) -> None:
        """Stop what the lab started, remove its namespaces and state."""
        state = self.state()
        if state is not None:
            if state.fail2ban_pid:
                fail2ban.stop(self.dir, self.pbx_ns, state.fail2ban_pid)
            for pid in (*state.call_pids, state.uas_pid, state.asterisk_pid):
                if pid:
                    pbx.stop_process(pid)
        self.network.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)
        log(f"lab '{self.name}' down")

    def set_carrier(self, mode: str, address: str | None = None) -> None:
        """Switch the carrier UAS: answer (200), reject (403) or stop (no OPTIONS replies);
        optionally move it to another carrier address."""
        state = self._running_state()
        if state.uas_pid:
            pbx.stop_process(state.uas_pid)
        state.uas_pid, state.uas_mode = 0, "stopped"
        if address is not None:
            state.carrier_address = address
        if mode != "stop":
            state.uas_pid = carrier.start_uas(self.carrier_ns, mode, self.log_dir,
                                              state.carrier_address)
            state.uas_mode = mode
        self._save(state)

    def start_fail2ban(self) -> int:
        """Start a real fail2ban (stock asterisk jail, nftables bans) in the PBX namespace."""
        state = self._running_state()
        self.stop_fail2ban()
        state.fail2ban_pid = fail2ban.start(self.dir, self.pbx_ns)
        self._save(state)
        return state.fail2ban_pid

    def stop_fail2ban(self) -> None:
        """Stop the lab's fail2ban (our pid only) and remove its table."""
        state = self._running_state()
        fail2ban.stop(self.dir, self.pbx_ns, state.fail2ban_pid)
        state.fail2ban_pid = 0
        self._save(state)

    def set_scenario(self, name: str) -> None:
        state = self._running_state()
        state.scenario = name
        self._save(state)

    def carrier_address(self) -> str:
        """Where the carrier sends from now (a scenario may have moved it)."""
        state = self.state()
        return state.carrier_address if state is not None else CARRIER_ADDRESS

    def call(self, spec: carrier.CallSpec) -> carrier.CallReport:
        """Place inbound calls from the carrier to the PBX."""
        self._running_state()
        return carrier.place_calls(self.carrier_ns, spec, self.log_dir)

    def call_in_background(self, spec: carrier.CallSpec) -> int:
        """Place calls without waiting (stopped by `down` or stop_background_calls)."""
        state = self._running_state()
        pid = carrier.start_calls(self.carrier_ns, spec, self.log_dir)
        state.call_pids = [p for p in state.call_pids if pbx.alive(p)] + [pid]
        self._save(state)
        return pid

    def start_dialer(self, number: str, every: float, seconds: float) -> int:
        """Outbound calls from the PBX every few seconds (a background process we track)."""
        state = self._running_state()
        carrier.check_dialable(number)
        pid = spawn([sys.executable, "-m", "trunkconsole", "lab", "dialer", "--name", self.name,
                     number, "--every", str(every), "--for", str(seconds)],
                    self.log_dir / "dialer.out")
        state.call_pids = [p for p in state.call_pids if pbx.alive(p)] + [pid]
        self._save(state)
        return pid

    def stop_background_calls(self) -> None:
        state = self._running_state()
        for pid in state.call_pids:
            pbx.stop_process(pid)
        state.call_pids = []
        self._save(state)

    def originate(self, number: str, caller_id: str = "15551239999",
                  hold: float = 5.0) -> None:
        """An outbound call from the PBX through the trunk to the carrier (AMI Originate)."""
        self._running_state()
        carrier.check_dialable(number)
        carrier.check_dialable(caller_id)
        with self.ami() as ami:
            reply = ami.action({
                "Action": "Originate", "Channel": f"PJSIP/{number}@carrier",
                "Application": "Wait", "Data": f"{hold:.0f}",
                "CallerID": f"<{caller_id}>", "Async": "true",
            })[0]
        if reply.get("response", [""])[0] != "Success":
            raise OperatorError("the lab PBX refused the outbound call",
                                evidence=reply.get("message", [""])[0])

    def restart_asterisk(self) -> float:
        """Stop the lab's Asterisk (SIGTERM, as `core stop now`) and start it again with the
        same configs and AMI secret; return time.time() when it reported FullyBooted."""
        state = self._running_state()
        pbx.stop_process(state.asterisk_pid)
        state.asterisk_pid = pbx.start(Path(state.rootfs), self.dir, self.pbx_ns)
        self._save(state)
        state.asterisk_version = pbx.wait_fully_booted(
            state.asterisk_pid, self.pbx_ns, self.secret(), self.dir)
        booted = time.time()
        self._save(state)
        return booted

    def _running_state(self) -> LabState:
        state = self.state()
        if state is None or not pbx.alive(state.asterisk_pid):
            raise OperatorError(f"lab '{self.name}' is not up", fix="trunkconsole lab up")
        return state

    def status(self) -> dict[str, object]:
        """What runs and what exists, for `lab status`."""
        state = self.state()
        return {
            "name": self.name,
            "namespaces": self.network.existing(),
            "asterisk": bool(state and pbx.alive(state.asterisk_pid)),
            "asterisk_pid": state.asterisk_pid if state else None,
            "asterisk_version": state.asterisk_version if state else None,
            "carrier": state.uas_mode if state and pbx.alive(state.uas_pid) else "stopped",
            "carrier_address": state.carrier_address if state else None,
            "scenario": (state.scenario or "none") if state else None,
            "fail2ban": bool(state and state.fail2ban_pid and pbx.alive(state.fail2ban_pid)),
            "rootfs": str(rootfs.rootfs_path(self.cache)),
            "rootfs_ready": rootfs.is_ready(rootfs.rootfs_path(self.cache)),
            "config_dir": str(self.config_dir),
            "secret_file": str(self.secret_file),
        }


def _lab_dirs() -> list[Path]:
    return [p for p in RUN_DIR.iterdir() if p.is_dir()] if RUN_DIR.is_dir() else []
