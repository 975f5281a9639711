"""Shared fixtures: the real Asterisk lab, and REQUIRE_LAB semantics.

Lab and namespace tests skip with a clear reason when they cannot run here (not root,
tools missing), except under TRUNKCONSOLE_REQUIRE_LAB=1 (CI), where such a skip fails.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest

from trunkconsole.lab import netns
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.lab import TOOLS, Lab
from trunkconsole.lab.system import missing_tools

REQUIRE_LAB = os.environ.get("TRUNKCONSOLE_REQUIRE_LAB") == "1"


def session_lab_name(base: str, worker: str) -> str:
    """The session lab's name: TRUNKCONSOLE_TEST_LAB, plus the pytest-xdist worker's number
    when workers run (gw0 -> test0, gw1 -> test1): each worker has its own lab, its own
    namespaces, Asterisk and /run/trunkconsole/labs/NAME. The base is cut so the name stays
    within the lab's 8 characters and the number is never cut off."""
    if not worker.startswith("gw"):
        return base
    number = worker[2:]
    return base[:8 - len(number)] + number


LAB_NAME = session_lab_name(os.environ.get("TRUNKCONSOLE_TEST_LAB", "test"),
                            os.environ.get("PYTEST_XDIST_WORKER", ""))


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, chroot)"
    missing = missing_tools(*TOOLS, "debootstrap")
    if missing:
        return "missing tools: " + ", ".join(missing)
    return None


def skip_or_fail(reason: str) -> None:
    """Skip, or fail when the run requires the lab."""
    if REQUIRE_LAB:
        pytest.fail(f"TRUNKCONSOLE_REQUIRE_LAB=1 but: {reason}")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under REQUIRE_LAB, a skipped lab or netns test counts as a failure."""
    report = yield
    if REQUIRE_LAB and report.skipped and (
        item.get_closest_marker("lab") or item.get_closest_marker("netns")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under TRUNKCONSOLE_REQUIRE_LAB=1: {report.longrepr}"
    return report


@pytest.fixture(autouse=True)
def isolated_user_config(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the operator's ~/.config/trunkconsole."""
    home = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("TRUNKCONSOLE_CONFIG", str(home / "trunkconsole" / "config.yaml"))


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The test lab, up for the whole session (root filesystem built once and cached)."""
    reason = lab_unavailable_reason()
    if reason:
        skip_or_fail(reason)
    the_lab = Lab(LAB_NAME)
    the_lab.up(log=lambda _m: None)
    try:
        yield the_lab
    finally:
        the_lab.down(log=lambda _m: None)


@pytest.fixture
def lab_ami(lab: Lab) -> Iterator[AmiProbe]:
    """A blocking AMI session to the lab PBX, independent of the console's client."""
    with lab.ami() as ami:
        yield ami


@pytest.fixture
def in_pbx_netns(lab: Lab) -> Iterator[Lab]:
    """Run the test body (its sockets, its asyncio loop) inside the lab's PBX namespace.

    setns(2) moves only this thread; sockets made inside keep that namespace.
    """
    with netns.inside(lab.pbx_ns):
        yield lab


@pytest.fixture
def lab_config(lab: Lab) -> Iterator[Lab]:
    """Give the lab back its original config files (and reload) after a test that edits.

    A file the test added is emptied before the reload and removed after it: when
    pjsip_wizard.conf merely disappears, Asterisk keeps the objects the wizard made
    (seen on 22.10); an empty file makes it drop them.
    """
    originals = {p: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    yield lab
    added = [p for p in lab.config_dir.glob("*.conf") if p not in originals]
    changed = bool(added)
    for path in added:
        path.write_bytes(b"")
    for path, content in originals.items():
        if path.read_bytes() != content:
            path.write_bytes(content)
            changed = True
    if changed:
        with lab.ami() as ami:
            for module in ("res_pjsip.so", "res_pjsip_config_wizard.so", "pbx_config.so"):
                ami.action({"Action": "Reload", "Module": module})
    for path in added:
        path.unlink()
