"""Load a config file with its #includes into categories, as ast_config_load() does.

Facts from main/config.c that this module reproduces (see reference section 5.1):
- `[name](a,b)` copies the variables of the first category named a, then b (template or
  not, case-insensitive), in front of the section's own; bases must come earlier.
- `[name](+)` appends to the first non-template category of that name; the filter form
  `[name](+type=aor&x=y)` needs every unanchored POSIX regex pair to match a variable.
- Lines at the top of an included file attach to the config's current category; after
  the #include the including file carries on with its own current category.
- A hard error drops the rest of that file; in the top-level file it invalidates the
  whole load (CONFIG_STATUS_FILEINVALID). Includes nest at most 10 levels.
"""

from __future__ import annotations

from pathlib import Path

from trunkconsole.conf.document import ConfigFile, UnreadableFile
from trunkconsole.conf.includes import MAX_INCLUDE_NAMES, TooManyNames, display_name, resolve
from trunkconsole.conf.lines import BLANKS, BOM, MAX_LINE_BYTES, Kind, Line, classify_line
from trunkconsole.conf.posix_regex import ISOLATED_SECONDS, PosixRegex, isolated
from trunkconsole.conf.tree import (
    Category,
    Include,
    IssueLevel,
    LoadedConfig,
    LoadIssue,
    Origin,
    Variable,
)

MAX_INCLUDE_LEVEL = 10
# Bounds Asterisk does not have (it would run out of memory or time first): lines read
# in one load (every file and every repeat of an include), and variables copied from
# templates (`[tN](!,tN-1,tN-1)` doubles them: ast_category_inherit() clones each one).
MAX_LOAD_LINES = 2_000_000
MAX_INHERITED = 4_000_000
_MISSING, _OK, _INVALID = 0, 1, 2


class Documents:
    """Parsed files by path, shared by every load of one config directory."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.by_path: dict[Path, ConfigFile] = {}
        self.errors: dict[Path, UnreadableFile] = {}

    def get(self, path: Path) -> ConfigFile:
        """The parsed file; UnreadableFile when it cannot be read."""
        doc = self.by_path.get(path)
        if doc is not None:
            return doc
        if path in self.errors:
            raise self.errors[path]
        try:
            doc = ConfigFile.read(path, display_name(path, self.config_dir))
        except UnreadableFile as exc:
            self.errors[path] = exc
            raise
        self.by_path[path] = doc
        return doc

    def by_name(self, name: str) -> ConfigFile | None:
        """A file already read, by its display name."""
        for doc in self.by_path.values():
            if doc.name == name:
                return doc
        return None


class Loader:
    """One load of one top-level file: the state config_text_file_load() keeps."""

    inline = True  # False: every line through classify_line() (tests compare both paths)

    def __init__(self, documents: Documents, exec_includes: bool = False) -> None:
        self.documents = documents
        self.exec_includes = exec_includes
        self.config = LoadedConfig(filename="")
        self.index: dict[str, list[Category]] = {}
        self.current: Category | None = None
        self.level = 0
        self.stack: list[Path] = []
        self._last_section: Category | None = None
        self.lines_read = 0
        self.inherited = 0
        self._pending: dict[int, tuple[Variable, list[str]]] = {}
        self._names: dict[int, tuple[Category, dict[str, int], list[int]]] = {}

    def load(self, filename: str) -> LoadedConfig:
        """Load filename (relative to the config dir, or absolute) and everything it includes."""
        self.config = LoadedConfig(filename=filename)
        status = self._load(filename, None)
        self._settle()
        self.config.found = status != _MISSING
        self.config.valid = status != _INVALID
        return self.config

    def _issue(self, level: IssueLevel, code: str, message: str, file: str,
               line: int | None = None) -> None:
        self.config.issues.append(LoadIssue(level, code, message, file, line))

    def _load(self, argument: str, origin: tuple[str, int] | None) -> int:
        if self.level == MAX_INCLUDE_LEVEL:
            file, line = origin if origin else (argument, None)
            self._issue(IssueLevel.WARNING, "include-depth",
                        f"Maximum Include level ({MAX_INCLUDE_LEVEL}) exceeded", file, line)
            return _MISSING
        self.level += 1
        status = self._load_glob(argument, origin)
        if status != _INVALID:
            # main/config.c does not decrement the level after an invalid include.
            self.level -= 1
        return status

    def _load_glob(self, argument: str, origin: tuple[str, int] | None) -> int:
        count = 0
        cat = self.current  # shared by every file of one glob, like the C local
        depth = 0  # so is the block-comment depth
        try:
            paths = resolve(argument, self.documents.config_dir)
        except TooManyNames:
            file, line = origin if origin else (argument, None)
            self._issue(IssueLevel.FATAL, "include-explosion",
                        f"'{argument}' names more than {MAX_INCLUDE_NAMES} files (braces or "
                        "wildcards): trunkconsole reads none of them", file, line)
            return _INVALID
        for path in paths:
            try:
                doc = self.documents.get(path)
            except UnreadableFile as exc:
                if exc.reason not in ("No such file or directory", "Not a directory"):
                    self._issue(IssueLevel.WARNING, "unreadable",
                                f"cannot read {exc.path}: {exc.reason}",
                                display_name(path, self.documents.config_dir))
                if exc.exists_for_asterisk:
                    count += 1
                continue
            count += 1
            self.lines_read += len(doc.raws)
            if self.lines_read > MAX_LOAD_LINES:
                file, line = origin if origin else (doc.name, None)
                self._issue(IssueLevel.FATAL, "too-many-lines",
                            f"{self.config.filename} with its includes is over "
                            f"{MAX_LOAD_LINES:,} lines (at {doc.name}): trunkconsole stops "
                            "reading it", file, line)
                return _INVALID
            if path in self.stack:
                file, line = origin if origin else (doc.name, None)
                self._issue(IssueLevel.WARNING, "include-loop",
                            f"{doc.name} includes itself (through {len(self.stack)} files); "
                            f"Asterisk repeats its contents until {MAX_INCLUDE_LEVEL} levels",
                            file, line)
            self.config.files.append(doc.name)
            self.stack.append(path)
            try:
                ok, cat, depth = self._process(doc, cat, depth, first_of_glob=count == 1)
            finally:
                self.stack.pop()
            if not ok:
                return _INVALID
        return _OK if count else _MISSING

    def _process(self, doc: ConfigFile, cat: Category | None, depth: int,
                 first_of_glob: bool = True) -> tuple[bool, Category | None, int]:
        """Feed every line to process_text_line(); False on a hard error.

        The plain `key = value` line at depth 0 without ';' is handled inline (that is
        nearly every line of a big pjsip.conf); everything else goes through
        classify_line(), the scanner the document uses too.

        A UTF-8 BOM is skipped only when Asterisk's line counter is 1, and that counter
        runs on across the files of one glob: a BOM at the top of the second file of
        `#include pjsip.d/*.conf` stays, and breaks that line (seen in the lab, 22.10).
        """
        file = doc.name
        blanks = BLANKS
        limit = MAX_LINE_BYTES // 4
        inline = self.inline
        begin = 0  # line where the open block comment started
        cut: str | None
        for number, raw in enumerate(doc.raws, 1):
            semi = raw.find(";") if inline and not depth else -2
            if semi >= 0 and (semi == 0 or raw[semi - 1] != "\\") and not (
                    raw[semi + 1:semi + 3] == "--" and raw[semi + 3:semi + 4] != "-") and not (
                    semi >= 2 and raw[semi - 2:semi] == "--"):
                cut = raw[:semi]  # `key=value ; note`: decomment()'s own fast path
            else:
                cut = raw if semi == -1 else None
            if cut is not None and len(raw) < limit and "\0" not in raw:
                text = cut.strip(blanks)
                if not text:
                    continue
                lead = text[0]
                if lead == "[":
                    close = text.find("]")
                    paren = text[close + 1:close + 2] == "("
                    end = text.find(")", close + 2) if paren else 0
                    if close > 0 and end >= 0:
                        options = text[close + 2:end].split(",") if paren else None
                        found = self._section(text[1:close], options, file, number)
                        if found is None:
                            return False, None, depth
                        cat = found
                        continue
                elif (cat is not None and lead != "[" and lead != "#" and lead != "\\"
                        and lead != BOM):
                    eq = text.find("=")
                    if eq > 0 and text[eq - 1] != "+":
                        rest = text[eq + 1:]
                        if rest[:1] == ">":
                            cat.variables.append(Variable(
                                text[:eq].rstrip(blanks), rest[1:].strip(blanks), file, number,
                                cat.name, True))
                        else:
                            cat.variables.append(Variable(
                                text[:eq].rstrip(blanks), rest.strip(blanks), file, number,
                                cat.name))
                        continue
            line = Line(raw)
            before = depth
            skip_bom = number == 1 and first_of_glob and raw.startswith(BOM)
            depth = classify_line(line, raw[1:] if skip_bom else raw, depth)
            if depth and not before:
                begin = number
            if not self._line(line, file, number, cat):
                return False, None, depth
            if line.kind == Kind.SECTION:
                cat = self._last_section
        if depth:
            self._issue(IssueLevel.WARNING, "unterminated-comment",
                        f"Unterminated comment detected beginning on line {begin}: "
                        "everything after it is ignored", file, begin)
        return True, cat, depth

    def _line(self, line: Line, file: str, number: int, cat: Category | None) -> bool:
        """One classified line that the inline path did not take."""
        kind = line.kind
        if kind == Kind.EMPTY:
            if line.stray_end:
                self._issue(IssueLevel.WARNING, "stray-comment-end",
                            "'--;' outside a block comment: Asterisk now treats the "
                            "following lines as comments", file, number)
            return True
        if kind == Kind.SECTION:
            found = self._section(line.name, line.options, file, number)
            if found is None:
                return False
            self._last_section = found
            return True
        if kind == Kind.SETTING:
            if cat is None:
                self._issue(IssueLevel.FATAL, "no-section",
                            f"parse error: No category context for line {number} of {file}",
                            file, number)
                return False
            if line.op == "+=":
                self._append(cat, line, file, number)
            else:
                cat.variables.append(Variable(line.name, line.value, file, number, cat.name,
                                              line.op == "=>"))
            return True
        if kind == Kind.DIRECTIVE:
            return self._directive(line, file, number)
        return self._oddity(line, file, number)

    def _oddity(self, line: Line, file: str, number: int) -> bool:
        kind = line.kind
        if kind == Kind.TOO_LONG:
            self._issue(IssueLevel.WARNING, "line-too-long",
                        f"Line {number} too long, skipping (8191 bytes or more)", file, number)
        elif kind == Kind.NO_EQUALS:
            self._issue(IssueLevel.WARNING, "no-equals",
                        f"No '=' (equal sign) in line {number} of {file}", file, number)
        elif kind == Kind.NO_NAME:
            self._issue(IssueLevel.WARNING, "no-name",
                        f"No variable name in line {number} of {file}", file, number)
        elif kind == Kind.BAD_ESCAPE:
            self._issue(IssueLevel.FATAL, "bad-escape",
                        f"Invalid escape in line {number} of {file}", file, number)
            return False
        elif kind == Kind.BAD_SECTION:
            self._issue(IssueLevel.FATAL, "bad-section",
                        f"parse error: {line.value}, line {number} of {file}", file, number)
            return False
        return True

    def _append(self, cat: Category, line: Line, file: str, number: int) -> None:
        """`key += more`: concatenate onto the last earlier `key` (no separator added).

        main/config.c copies the whole value for every `+=` (ast_str_set, then
        ast_variable_update); 50,000 `allow+=` lines made that quadratic here. A value
        grown in this load keeps its pieces (`_pending`) and is joined once, when read.
        """
        key = line.name
        variables = cat.variables
        names = self._exact_names(cat)
        pos = names.get(key)
        if pos is None:
            variables.append(Variable(key, line.value.strip(BLANKS), file, number, cat.name))
            return
        replace = variables[pos]
        # ast_variable_update(): the last variable with that name (any case) and old value.
        target = pos
        low = replace.key
        for i in range(len(variables) - 1, pos, -1):
            var = variables[i]
            if var.key == low:
                old = self._value(replace)
                if not old or self._value(var).lower() == old.lower():
                    target = i
                    break
        piece = line.value.rstrip(BLANKS)
        origin = Origin(file, number, cat.name)
        var = variables[target]
        pending = self._pending.get(id(var))
        if target == pos and pending is not None and pending[0] is var:
            pending[1].append(piece)
            var.appended.append(origin)  # type: ignore[union-attr]  # a list while pending
            return
        old = self._value(replace)
        grown = Variable(replace.name, old, var.file, var.line, var.section, var.object,
                         [*var.appended, origin])
        variables[target] = grown
        self._pending[id(grown)] = (grown, [old, piece])
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

    def _value(self, var: Variable) -> str:
        """The variable's value, joining its pending `+=` pieces first."""
        pending = self._pending.get(id(var))
        if pending is not None and pending[0] is var and len(pending[1]) > 1:
            # (v + piece).rstrip().lstrip() at every step == join of rstripped pieces, lstripped
            var.value = "".join(pending[1]).lstrip(BLANKS)
            pending[1][:] = [var.value]
        return var.value

    def _settle(self) -> None:
        """Join every pending value and freeze its origins (before a filter reads values,
        before a category is copied into another, and at the end of the load)."""
        for var, _pieces in self._pending.values():
            self._value(var)
            var.appended = tuple(var.appended)
        self._pending.clear()

    def _section(self, name: str, options: list[str] | None, file: str,
                 number: int) -> Category | None:
        newcat: Category | None = Category(name, file, number)
        assert newcat is not None
        cat: Category = newcat
        for option in options or ():
            if option == "!":
                cat.template = True
            elif option.startswith("+"):
                try:
                    target = self._find(name, option[1:], base=False)
                except FilterTooSlow:
                    self._issue(IssueLevel.FATAL, "filter-too-slow",
                                f"the filter of [{name}]({option}) did not finish in "
                                f"{ISOLATED_SECONDS:.0f} s within 1 GB (its regex on these "
                                f"values), line {number} of {file}", file, number)
                    return None
                if target is None:
                    self._issue(IssueLevel.FATAL, "append-missing",
                                f"Category addition requested, but category '{name}' does "
                                f"not exist, line {number} of {file}", file, number)
                    return None
                if newcat is not None:
                    self.current = target
                    target.template = target.template or newcat.template
                    target.variables.extend(newcat.variables)
                    target.additions.append(Origin(file, number, target.name))
                    newcat = None
                cat = target
            else:
                base = self._find(option, "", base=True)
                if base is None:
                    self._issue(IssueLevel.FATAL, "base-missing",
                                f"Inheritance requested, but category '{option}' does not "
                                f"exist, line {number} of {file}", file, number)
                    return None
                if self._pending:
                    self._settle()  # a copy shares the Variable: it must not grow later
                self.inherited += len(base.variables)
                if self.inherited > MAX_INHERITED:
                    self._issue(IssueLevel.FATAL, "inheritance-explosion",
                                f"[{name}] and the sections before it copy over "
                                f"{MAX_INHERITED:,} variables from templates (each "
                                "inheritance copies every variable of its base; Asterisk "
                                f"would run out of memory), line {number} of {file}",
                                file, number)
                    return None
                cat.bases.append(base.name)
                cat.variables.extend(base.variables)
        if newcat is not None:
            self.config.categories.append(newcat)
            self.index.setdefault(name.lower(), []).append(newcat)
            self.current = newcat
        return cat

    def _find(self, name: str, filter_: str, base: bool) -> Category | None:
        """category_get_sep()/does_category_match(): the first category that qualifies."""
        candidates = self.index.get(name.lower(), []) if name else self.config.categories
        if not candidates:
            return None
        if base:
            return candidates[0]  # "TEMPLATES=include": templates and normal sections alike
        if not filter_:
            return next((cat for cat in candidates if not cat.template), None)
        self._settle()
        index = first_matching(candidates, filter_)
        return candidates[index] if index >= 0 else None

    def _directive(self, line: Line, file: str, number: int) -> bool:
        directive = line.name.lower()
        if directive not in ("include", "tryinclude", "exec"):
            self._issue(IssueLevel.WARNING, "unknown-directive",
                        f"Unknown directive '#{line.name}' at line {number} of {file}",
                        file, number)
            return True
        if not line.value:
            self._issue(IssueLevel.WARNING, "directive-argument",
                        f"Directive '#{line.name}' needs an argument at line {number} of "
                        f"{file}", file, number)
            return True
        include = Include(directive, line.value, file, number)
        self.config.includes.append(include)
        if directive == "exec":
            if self.exec_includes:
                text = (f"#exec {line.value}: Asterisk runs it and loads its output; "
                        "trunkconsole never runs it, so that output is not checked")
            else:
                text = ("Cannot perform #exec unless execincludes option is enabled in "
                        "asterisk.conf (options section): the line is ignored")
            self._issue(IssueLevel.NOTE, "exec", text, file, number)
            return True
        before = len(self.config.files)
        status = self._load(line.value, (file, number))
        include.targets = self.config.files[before:]
        if status == _MISSING and directive == "include":
            self._issue(IssueLevel.FATAL, "include-missing",
                        f"The file '{line.value}' was listed as a #include but it does not "
                        "exist.", file, number)
            return False
        return True


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


def load_config(config_dir: Path, filename: str, documents: Documents | None = None,
                exec_includes: bool = False) -> LoadedConfig:
    """Load one config file from config_dir the way Asterisk would."""
    docs = documents if documents is not None else Documents(config_dir)
    return Loader(docs, exec_includes).load(filename)
