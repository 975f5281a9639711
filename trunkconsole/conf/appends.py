"""`key += more` within one load, linear in the number of `+=` lines.

main/config.c copies the whole value for every `+=` (ast_str_set, then
ast_variable_update); 50,000 `allow+=` lines made that quadratic here. A value grown in
this load keeps its pieces and is joined once, when it is read (a filter, a template
copy, or the end of the load).
"""

from __future__ import annotations

from trunkconsole.conf.lines import BLANKS
from trunkconsole.conf.tree import Category, Origin, Variable


class Appends:
    """The values grown by `+=` in one load, and an index of variable names per category."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[Variable, list[str]]] = {}
        self._names: dict[int, tuple[Category, dict[str, int], list[int]]] = {}

    def append(self, cat: Category, key: str, value: str, file: str, number: int) -> None:
        """`key += value` in cat: concatenate onto the last earlier `key` (no separator)."""
        variables = cat.variables
        names = self._exact_names(cat)
        pos = names.get(key)
        if pos is None:
            variables.append(Variable(key, value.strip(BLANKS), file, number, cat.name))
            return
        replace = variables[pos]
        # ast_variable_update(): the last variable with that name (any case) and old value.
        target = pos
        low = replace.key
        for i in range(len(variables) - 1, pos, -1):
            var = variables[i]
            if var.key == low:
                old = self.value(replace)
                if not old or self.value(var).lower() == old.lower():
                    target = i
                    break
        piece = value.rstrip(BLANKS)
        origin = Origin(file, number, cat.name)
        var = variables[target]
        pending = self.pending.get(id(var))
        if target == pos and pending is not None and pending[0] is var:
            pending[1].append(piece)
            var.appended.append(origin)  # type: ignore[union-attr]  # a list while pending
            return
        old = self.value(replace)
        grown = Variable(replace.name, old, var.file, var.line, var.section, var.object,
                         [*var.appended, origin])
        variables[target] = grown
        self.pending[id(grown)] = (grown, [old, piece])
        if target != pos:  # the slot's name changed case: index the category again
            del self._names[id(cat)]

    def _exact_names(self, cat: Category) -> dict[str, int]:
        """Exact variable name -> last index in cat, brought up to date incrementally."""
        entry = self._names.get(id(cat))
        if entry is None or entry[0] is not cat:
            entry = (cat, {}, [0])
            self._names[id(cat)] = entry
        _, names, seen = entry
        variables = cat.variables
        for i in range(seen[0], len(variables)):
            names[variables[i].name] = i
        seen[0] = len(variables)
        return names

    def value(self, var: Variable) -> str:
        """The variable's value, joining its pending `+=` pieces first."""
        pending = self.pending.get(id(var))
        if pending is not None and pending[0] is var and len(pending[1]) > 1:
            # (v + piece).rstrip().lstrip() at every step == join of rstripped pieces, lstripped
            var.value = "".join(pending[1]).lstrip(BLANKS)
            pending[1][:] = [var.value]
        return var.value

    def settle(self) -> None:
        """Join every pending value and freeze its origins (before a filter reads values,
        before a category is copied into another, and at the end of the load)."""
        for var, _pieces in self.pending.values():
            self.value(var)
            var.appended = tuple(var.appended)
        self.pending.clear()
