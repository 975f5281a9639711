"""Every test in tests/lab runs against the real lab."""

from collections.abc import Iterator

import pytest

from trunkconsole.lab.lab import Lab


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/lab/" in str(item.path):
            item.add_marker(pytest.mark.lab)


@pytest.fixture
def lab_config(lab: Lab) -> Iterator[Lab]:
    """Give the lab back its original config files (and reload) after a test that edits."""
    originals = {p: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    yield lab
    changed = False
    for path in lab.config_dir.glob("*.conf"):
        if path not in originals:
            path.unlink()
            changed = True
    for path, content in originals.items():
        if path.read_bytes() != content:
            path.write_bytes(content)
            changed = True
    if changed:
        with lab.ami() as ami:
            for module in ("res_pjsip.so", "pbx_config.so"):
                ami.action({"Action": "Reload", "Module": module})
