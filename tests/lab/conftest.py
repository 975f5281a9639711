"""Every test in tests/lab runs against the real lab."""

import time
from collections.abc import Iterator

import pytest

from tests.conftest import LAB_NAME
from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/lab/" in str(item.path):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="module", autouse=True)
def no_call_left_behind() -> Iterator[None]:
    """After each file, end the calls it left up in the session lab: a held background call
    whose sipp was stopped stays up in Asterisk (nobody sent BYE). pytest-xdist hands whole
    files to workers in any order, so each file must find its lab without stray calls."""
    yield
    lab = Lab(LAB_NAME)
    if not lab.is_running():
        return
    lab.stop_background_calls()
    with lab.ami() as ami:
        ami.command("channel request hangup all")
        deadline = time.monotonic() + 10
        while any(first(m, "event") == "CoreShowChannel"
                  for m in ami.action({"Action": "CoreShowChannels"})):
            assert time.monotonic() < deadline, "calls still up after hangup all"
            time.sleep(0.1)
