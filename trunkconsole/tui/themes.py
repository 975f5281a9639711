"""Themes from YAML files: built-ins in themes/, user themes in ~/.config/trunkconsole/themes.

Each file maps one-to-one onto textual.theme.Theme(**data); later directories override
earlier ones by theme name. Bad files are collected, not raised, so the app can show one
notice and fall back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

from trunkconsole.resources import themes_dir

THEME_KEYS = {"name", "primary", "secondary", "warning", "error", "success", "accent",
              "foreground", "background", "surface", "panel", "boost", "dark", "ansi",
              "luminosity_spread", "text_alpha", "variables"}
COLOR_KEYS = THEME_KEYS - {"name", "dark", "ansi", "luminosity_spread", "text_alpha",
                           "variables"}
# Our own CSS variables: fallbacks so Textual's built-in themes work too.
VARIABLE_DEFAULTS = {"trunk-up": "green", "trunk-down": "red", "trunk-unknown": "yellow"}


@dataclass
class LoadedThemes:
    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def user_themes_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trunkconsole" / "themes"


def parse_theme(path: Path) -> Theme:
    """One theme file to a Theme; ValueError with the reason when it is not valid."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ValueError("not a mapping of theme keys")
    unknown = set(data) - THEME_KEYS
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    if "primary" not in data:
        raise ValueError("'primary' is required")
    data.setdefault("name", path.stem)
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("'variables' must be a mapping")
    for key in COLOR_KEYS & set(data):
        try:
            Color.parse(str(data[key]))
        except ColorParseError as exc:
            raise ValueError(f"{key}: {data[key]!r} is not a colour") from exc
    data["variables"] = {str(k): str(v) for k, v in variables.items()}
    return Theme(**data)


def load_themes(dirs: list[Path] | None = None) -> LoadedThemes:
    """Every *.yaml theme in the built-in then the user directory."""
    result = LoadedThemes()
    for directory in dirs if dirs is not None else [themes_dir(), user_themes_dir()]:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            try:
                theme = parse_theme(path)
            except ValueError as exc:
                result.errors.append(f"{path}: {exc}")
                continue
            result.themes[theme.name] = theme
    return result
