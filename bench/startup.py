"""Start-up cost of the CLI: non-TUI subcommands must not pay for Textual.

Prints the median wall time of fresh interpreters for each command, and each as a ratio
to the same-run baselines `python -c pass` and `python -c "import textual.app"`.
Run: .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS: dict[str, list[str]] = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "import textual.app (baseline)": [sys.executable, "-c", "import textual.app"],
    "trunkconsole --version": [sys.executable, "-m", "trunkconsole", "--version"],
    "trunkconsole --help": [sys.executable, "-m", "trunkconsole", "--help"],
    "trunkconsole lab status --help": [sys.executable, "-m", "trunkconsole", "lab", "status",
                                       "--help"],
}


def median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    results = {name: median_wall(cmd, runs) for name, cmd in COMMANDS.items()}
    bare = results["python -c pass (baseline)"]
    textual = results["import textual.app (baseline)"]
    print(f"median of {runs} fresh interpreters")
    print(f"{'command':34} {'wall ms':>8} {'x bare python':>14} {'x textual import':>17}")
    for name, wall in results.items():
        print(f"{name:34} {wall * 1000:8.1f} {wall / bare:14.2f} {wall / textual:17.2f}")


if __name__ == "__main__":
    main()
