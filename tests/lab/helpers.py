"""Running the real CLI against the lab, as an operator on the PBX would."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.lab import Lab
from trunkconsole.lab.pbx import AMI_USER

ROOT = Path(__file__).resolve().parents[2]


def run_cli(lab: Lab, *args: str, state: Path | None = None,
            global_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`trunkconsole ARGS` inside the PBX namespace, with the lab's AMI secret and configs."""
    extra = ["--state-dir", str(state)] if state is not None else []
    return subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", *global_args,
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         *args, *extra],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=ROOT)


def rx_counts(ami: AmiProbe) -> list[int]:
    """Received RTP packets of each carrier channel, as `pjsip show channelstats` says."""
    stats = parse_channelstats(ami.command("pjsip show channelstats"))
    return [s.rx_packets for s in stats.values() if s.endpoint.startswith("carrier")]


def qualify_now(lab: Lab) -> None:
    """Have Asterisk qualify the carrier now rather than at its next qualify_frequency tick
    (10 s in the lab's pjsip.conf): the same OPTIONS, the same qualify_timeout (2 s), the
    same ContactStatus event, only without waiting up to 10 s for the timer."""
    with lab.ami() as ami:
        reply = ami.action({"Action": "PJSIPQualify", "Endpoint": "carrier"})[0]
    assert reply.get("response", [""])[0] == "Success", reply


class AmiLogins:
    """Tells when another AMI session logs in to the lab PBX, so a test acts once the CLI or
    console it started is connected (and hears events) rather than after a guessed delay
    that a loaded machine overruns. Sessions are `manager show connected` rows (user,
    address, start, file descriptor), read through one probe session that stays open."""

    def __init__(self, ami: AmiProbe) -> None:
        self._ami = ami
        self._before = self._sessions()

    def _sessions(self) -> set[tuple[str, ...]]:
        rows = [line.split() for line in self._ami.command("manager show connected")]
        # Username, IP Address, Start, Elapsed, FileDes...: all but Elapsed name a session.
        return {(row[0], row[1], row[2], row[4]) for row in rows
                if len(row) > 4 and row[0] == AMI_USER}

    def wait(self, count: int = 1, timeout: float = 60.0) -> None:
        """Block until `count` sessions that were not there at the start have logged in."""
        deadline = time.monotonic() + timeout
        while len(self._sessions() - self._before) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not {count} new AMI logins to the lab PBX within "
                                   f"{timeout:.0f} s")
            time.sleep(0.1)


@contextmanager
def ami_logins(lab: Lab) -> Iterator[AmiLogins]:
    """AmiLogins for the lab PBX, counting from now."""
    with lab.ami() as ami:
        yield AmiLogins(ami)
