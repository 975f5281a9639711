"""Where an #include points: config-dir-relative paths, braces and globs as glob(3) does."""

from __future__ import annotations

import glob
import itertools
from pathlib import Path

_MAGIC = frozenset("*?[")
# Files one #include may name (after braces and globs); more is an explosion, not a config.
MAX_INCLUDE_NAMES = 1024


class TooManyNames(Exception):
    """An #include argument that names more files than we read (brace or glob explosion)."""


def _first_group(pattern: str) -> tuple[int, int, list[str]] | None:
    """The first balanced {...} group: (start, end, its top-level alternatives)."""
    start = pattern.find("{")
    while start >= 0:
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
                    return start, i + 1, parts
            elif ch == "," and depth == 1:
                parts.append(pattern[last:i])
                last = i + 1
        return None  # unbalanced: glob(3) takes the brace literally
    return None


def expand_braces(pattern: str, limit: int = MAX_INCLUDE_NAMES) -> list[str]:
    """GLOB_BRACE: 'a{b,c}d' -> ['abd', 'acd'], nested braces included; TooManyNames past
    limit (`#include {a,b}{a,b}...` doubles with every group: glibc has no bound)."""
    done: list[str] = []
    todo = [pattern]
    while todo:
        current = todo.pop()
        group = _first_group(current)
        if group is None:
            done.append(current)
            if len(done) > limit:
                raise TooManyNames(pattern)
            continue
        start, end, parts = group
        if len(todo) + len(parts) + len(done) > limit:
            raise TooManyNames(pattern)
        head, tail = current[:start], current[end:]
        todo.extend(head + part + tail for part in reversed(parts))
    return done


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
            found = list(itertools.islice(glob.iglob(alternative), MAX_INCLUDE_NAMES + 1))
            if len(found) + len(paths) > MAX_INCLUDE_NAMES:
                raise TooManyNames(argument)
            paths.extend(Path(name) for name in sorted(found))
    if len(paths) > MAX_INCLUDE_NAMES:
        raise TooManyNames(argument)
    return paths


def display_name(path: Path, config_dir: Path) -> str:
    """A file name as the operator knows it: relative to the config dir when inside it."""
    try:
        return str(path.relative_to(config_dir))
    except ValueError:
        return str(path)
