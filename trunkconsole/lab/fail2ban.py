"""A real fail2ban guarding the lab PBX: the host's Debian package, run inside the PBX
namespace with a private configuration, socket, pid file and database under the lab's
state directory, so it never touches the host's own fail2ban or firewall.

The configuration is the package's stock one (jail.conf with its `[asterisk]` jail,
filter.d/asterisk.conf, action.d/nftables*.conf) copied from /etc/fail2ban, minus jail.d
(Debian's defaults-debian.conf enables sshd) and any operator .local files; the lab's own
jail.local only enables the stock `[asterisk]` jail on the lab Asterisk's security log and
bans through nftables. fail2ban 1.0.2's nftables action makes `table inet f2b-table`,
chain `f2b-chain` (hook input, priority -1) and one set per action: the stock jail's
actions are named `asterisk-tcp` and `asterisk-udp` (jail.conf), so the sets are
`addr-set-asterisk-tcp` and `addr-set-asterisk-udp`. `fail2ban-client stop` runs
actionstop, which deletes the table.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.lab import pbx
from trunkconsole.lab.system import require_tools, run, spawn

PACKAGE_CONFIG = Path("/etc/fail2ban")
STOCK_FILES = ("fail2ban.conf", "jail.conf", "paths-common.conf", "paths-debian.conf")
STOCK_DIRS = ("filter.d", "action.d")
JAIL = "asterisk"
TABLE = "inet f2b-table"


def config_dir(lab_dir: Path) -> Path:
    """The lab's fail2ban configuration directory (`fail2ban-client -c DIR`)."""
    return lab_dir / "fail2ban" / "etc"


def render(lab_dir: Path) -> Path:
    """Write the private fail2ban configuration; return its directory."""
    require_tools("fail2ban-server", "fail2ban-client")
    base = lab_dir / "fail2ban"
    etc = config_dir(lab_dir)
    shutil.rmtree(base, ignore_errors=True)
    for sub in ("etc/jail.d", "etc/fail2ban.d", "run", "db"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for name in STOCK_FILES:
        shutil.copy2(PACKAGE_CONFIG / name, etc / name)
    for name in STOCK_DIRS:
        shutil.copytree(PACKAGE_CONFIG / name, etc / name,
                        ignore=shutil.ignore_patterns("*.local"))
    (etc / "fail2ban.local").write_text(
        "[Definition]\n"
        f"logtarget = {base / 'fail2ban.log'}\n"
        f"socket = {base / 'run' / 'fail2ban.sock'}\n"
        f"pidfile = {base / 'run' / 'fail2ban.pid'}\n"
        f"dbfile = {base / 'db' / 'fail2ban.sqlite3'}\n"
        "allowipv6 = auto\n")
    (etc / "jail.local").write_text(
        "# trunkconsole lab: the stock [asterisk] jail on the lab Asterisk's security log,\n"
        "# banning through nftables in the PBX namespace.\n"
        "[DEFAULT]\n"
        "ignoreip = 127.0.0.1/8 ::1\n"
        "banaction = nftables-multiport\n"
        "banaction_allports = nftables-allports\n"
        "backend = polling\n"
        "\n"
        f"[{JAIL}]\n"
        "enabled = true\n"
        # tail: only what Asterisk logs from now on (earlier scenarios' 401s do not count)
        f"logpath = {lab_dir / 'log' / 'security.log'} tail\n")
    return etc


def start(lab_dir: Path, netns: str) -> int:
    """Start fail2ban-server in the foreground inside the PBX namespace; return its pid
    (once its jail answers)."""
    etc = render(lab_dir)
    pid = spawn(["ip", "netns", "exec", netns, "fail2ban-server", "-f", "-x", "-c", str(etc)],
                lab_dir / "fail2ban" / "server.out")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not pbx.alive(pid):
            raise OperatorError("fail2ban-server exited during start-up",
                                evidence=_tail(lab_dir / "fail2ban" / "fail2ban.log"))
        proc = run(["fail2ban-client", "-c", str(etc), "status", JAIL],
                   what="fail2ban-client status", check=False, timeout=10)
        if proc.returncode == 0:
            return pid
        time.sleep(0.2)
    pbx.stop_process(pid)
    raise OperatorError("fail2ban did not start its asterisk jail in time",
                        evidence=_tail(lab_dir / "fail2ban" / "fail2ban.log"))


def stop(lab_dir: Path, netns: str, pid: int) -> None:
    """Stop our fail2ban (by pid; its actionstop removes the table) and make sure the
    table is gone."""
    if pid and pbx.alive(pid):
        etc = config_dir(lab_dir)
        run(["fail2ban-client", "-c", str(etc), "stop"], what="fail2ban-client stop",
            check=False, timeout=20)
        deadline = time.monotonic() + 10
        while pbx.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        pbx.stop_process(pid)
    if Path(f"/run/netns/{netns}").exists():
        tables = run(["ip", "netns", "exec", netns, "nft", "list", "tables"],
                     what="nft list tables", check=False).stdout
        if "f2b-table" in tables:
            run(["ip", "netns", "exec", netns, "nft", "delete", "table", *TABLE.split()],
                what="removing fail2ban's table", check=False)


def banned(lab_dir: Path) -> list[str]:
    """Addresses the lab jail bans now."""
    proc = run(["fail2ban-client", "-c", str(config_dir(lab_dir)), "get", JAIL, "banip"],
               what="fail2ban-client get banip", check=False, timeout=10)
    return proc.stdout.split() if proc.returncode == 0 else []


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "no fail2ban log"
