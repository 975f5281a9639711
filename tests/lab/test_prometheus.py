"""A real Prometheus (Debian package) scrapes `watch` in the lab: the trunk's reachable
series goes 1 -> 0 -> 1 through the trunk-down scenario and back."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from trunkconsole.lab import scenarios
from trunkconsole.lab.lab import Lab
from trunkconsole.lab.netns import inside

from .helpers import qualify_now
from .watch_helpers import running_watch, wait_for

PROM = "127.0.0.1:9090"  # loopback of the lab's PBX namespace: nobody else's


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


@contextmanager
def prometheus(lab: Lab, workdir: Path) -> Iterator[None]:
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("prometheus missing (Debian package prometheus, in setup.sh)")
    assert binary is not None
    config = workdir / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                      "scrape_configs:\n  - job_name: trunkconsole\n"
                      "    static_configs: [{targets: ['127.0.0.1:9595']}]\n")
    log = open(workdir / "prometheus.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, binary, f"--config.file={config}",
         f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address={PROM}",
         "--storage.tsdb.retention.time=1h"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def api(lab: Lab, path: str, **params: str) -> Any:
    url = f"http://{PROM}/api/v1/{path}?" + urllib.parse.urlencode(params)
    try:
        with inside(lab.pbx_ns), urllib.request.urlopen(url, timeout=5) as reply:
            return json.loads(reply.read())["data"]
    except OSError:
        return None


def reachable(lab: Lab) -> str | None:
    data = api(lab, "query", query='trunkconsole_trunk_reachable{trunk="carrier"}')
    if not data or not data["result"]:
        return None
    return str(data["result"][0]["value"][1])


def test_prometheus_sees_the_trunk_go_down_and_up(scenario_lab: Lab, tmp_path: Path) -> None:
    lab = scenario_lab
    started = time.time()
    with running_watch(lab, tmp_path / "j.sqlite", tmp_path, "--no-network"), \
            prometheus(lab, tmp_path):
        wait_for("reachable 1", lambda: reachable(lab) == "1", timeout=60)
        scenarios.apply(lab, "trunk-down", log=lambda _m: None)
        qualify_now(lab)
        wait_for("reachable 0", lambda: reachable(lab) == "0", timeout=60)
        scenarios.apply(lab, "reset", log=lambda _m: None)
        wait_for("reachable 1 again", lambda: reachable(lab) == "1", timeout=60)
        time.sleep(3)  # a few more scrapes, so the range's last steps see it too
        data = api(lab, "query_range", query='trunkconsole_trunk_reachable{trunk="carrier"}',
                   start=str(started), end=str(time.time()), step="1")
    values = [v for _t, v in data["result"][0]["values"]]
    changes = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    assert changes == ["1", "0", "1"], changes
