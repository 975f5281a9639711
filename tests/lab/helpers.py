"""Running the real CLI against the lab, as an operator on the PBX would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.lab import Lab

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
