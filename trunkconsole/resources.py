"""Find data shipped with trunkconsole (themes, sample configs) in a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir(name: str) -> Path:
    """Directory `name` ("themes", "sample-configs") from the wheel, else from the checkout.

    The wheel force-includes the top-level folders under trunkconsole/_data (pyproject.toml);
    an editable install or a source run finds them beside the package.
    """
    packaged = Path(str(resources.files("trunkconsole"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def themes_dir() -> Path:
    """Built-in themes."""
    return data_dir("themes")


def sample_configs_dir() -> Path:
    """Sample Asterisk configs, including the lab's (sample-configs/lab)."""
    return data_dir("sample-configs")
