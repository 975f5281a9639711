"""`[name](+filter)`: which earlier category a filtered addition names (main/config.c).

A filter is '&'-joined `name=value` pairs of unanchored POSIX regexes (regcomp/regexec,
as does_category_match() runs them); `TEMPLATES=include|restrict` widens the search to
templates. Plain patterns run here; a pattern with a quantified group, an alternation or
a back-reference runs in a child process with limits (posix_regex.isolated).
"""

from __future__ import annotations

from trunkconsole.conf.lines import BLANKS
from trunkconsole.conf.posix_regex import PosixRegex, isolated
from trunkconsole.conf.tree import Category


def split_expressions(text: str, sep: str) -> list[str]:
    """ast_strsep(..., AST_STRSEP_STRIP): split outside quotes, honouring backslashes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == sep and not quoted:
            parts.append("".join(current).strip(BLANKS))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip(BLANKS))
    return parts


def _expressions(filter_: str) -> list[tuple[str, str] | None]:
    """The '&'-joined `name=value` pairs of a filter; None for a pair without '='."""
    out: list[tuple[str, str] | None] = []
    for expression in split_expressions(filter_, "&"):
        pair = split_expressions(expression, "=")
        out.append((pair[0], pair[1]) if len(pair) >= 2 else None)
    return out


def _matches(cat: Category, pairs: list[tuple[str, str] | None],
             compiled: dict[str, PosixRegex]) -> bool:
    """does_category_match() for one category (the C code in main/config.c:1065)."""
    found = 0
    template_ok = False
    for pair in pairs:
        if pair is None:
            break
        name_rx, value_rx = pair
        if name_rx == "TEMPLATES":
            if value_rx.lower() == "include":
                template_ok = template_ok or cat.template
                found += 1
            elif value_rx.lower() == "restrict":
                if not cat.template:
                    break
                found += 1
                template_ok = True
            continue
        name_re, value_re = compiled[name_rx], compiled[value_rx]
        if not (name_re.ok and value_re.ok):
            return False  # "Regular expression ... failed to compile"
        if any(name_re.search(var.name) and value_re.search(var.value)
               for var in cat.variables):
            found += 1
    return found == len(pairs) and (not cat.template or template_ok)


class FilterTooSlow(Exception):
    """A (+filter) regex that did not finish within the isolated time and memory limit."""


def first_matching(candidates: list[Category], filter_: str) -> int:
    """Index of the first candidate the filter matches, -1 for none.

    Plain patterns run here; a pattern with a quantified group, an alternation or a
    back-reference runs in a child process with limits (posix_regex.isolated).
    """
    pairs = _expressions(filter_)
    patterns = {p for pair in pairs if pair is not None and pair[0] != "TEMPLATES"
                for p in pair}
    compiled = {p: PosixRegex(p) for p in patterns}
    try:
        def scan() -> int:
            for index, cat in enumerate(candidates):
                if _matches(cat, pairs, compiled):
                    return index
            return -1

        if not any(rx.complex for rx in compiled.values()):
            return scan()
        result = isolated(scan)
        if result is None:
            raise FilterTooSlow(filter_)
        return result
    finally:
        for rx in compiled.values():
            rx.close()


def matches_filter(cat: Category, filter_: str) -> bool:
    """does_category_match() with '&'-joined `name=value` POSIX regex pairs (unanchored)."""
    if not filter_:
        return not cat.template
    return first_matching([cat], filter_) == 0

