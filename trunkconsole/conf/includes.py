"""Where an #include points: config-dir-relative paths, braces and globs as glob(3) does."""

from __future__ import annotations

import glob
from pathlib import Path

_MAGIC = frozenset("*?[")


def expand_braces(pattern: str) -> list[str]:
    """GLOB_BRACE: 'a{b,c}d' -> ['abd', 'acd'], nested braces included."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth = 0
    parts: list[str] = []
    last = start + 1
    for i in range(start, len(pattern)):
        ch = pattern[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:i])
                head, tail = pattern[:start], pattern[i + 1:]
                out: list[str] = []
                for part in parts:
                    out.extend(expand_braces(head + part + tail))
                return out
        elif ch == "," and depth == 1:
            parts.append(pattern[last:i])
            last = i + 1
    return [pattern]  # unbalanced: glob(3) takes the brace literally


def resolve(argument: str, config_dir: Path) -> list[Path]:
    """The files an #include argument names, sorted, as main/config.c's glob() call finds them.

    A relative path is taken from the config directory, not from the including file's
    directory (main/config.c, config_text_file_load()). GLOB_NOMAGIC returns a pattern
    without wildcards as is, even when the file does not exist; a wildcard that matches
    nothing yields no file, so `#include pjsip.d/*.conf` on an empty directory fails.
    """
    full = argument if argument.startswith("/") else f"{config_dir}/{argument}"
    paths: list[Path] = []
    for alternative in expand_braces(full):
        if _MAGIC.isdisjoint(alternative):
            paths.append(Path(alternative))
        else:
            paths.extend(Path(found) for found in sorted(glob.glob(alternative)))
    return paths


def display_name(path: Path, config_dir: Path) -> str:
    """A file name as the operator knows it: relative to the config dir when inside it."""
    try:
        return str(path.relative_to(config_dir))
    except ValueError:
        return str(path)
