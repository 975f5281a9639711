"""One file's lines into categories, as main/config.c's process_text_line() does.

Facts from main/config.c that this module reproduces (see reference section 5.1):
- `[name](a,b)` copies the variables of the first category named a, then b (template or
  not, case-insensitive), in front of the section's own; bases must come earlier.
- `[name](+)` appends to the first non-template category of that name; the filter form
  `[name](+type=aor&x=y)` needs every unanchored POSIX regex pair to match a variable.
- A hard error drops the rest of that file.

The loader (loader.py) adds files, #includes and globs on top.
"""

from __future__ import annotations

import re

from trunkconsole.conf.appends import Appends
from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.filters import FilterTooSlow, first_matching
from trunkconsole.conf.lines import BLANKS, BOM, MAX_LINE_BYTES, Kind, Line, classify_line
from trunkconsole.conf.posix_regex import ISOLATED_SECONDS
from trunkconsole.conf.tree import (
    Category,
    IssueLevel,
    LoadedConfig,
    LoadIssue,
    Origin,
    Variable,
)

# Bounds Asterisk does not have (it would run out of memory or time first): variables
# copied from templates (`[tN](!,tN-1,tN-1)` doubles them: ast_category_inherit() clones
# each one).
MAX_INHERITED = 4_000_000
# Sections in one load: each costs 2-10 kB and ~0.25 ms once resolved, linted, judged
# against the firewall and bundled (`bundle` on 100,000: 23 s CPU, 1 GB; `check --json`
# on 180,000: 18 s CPU, 1.3 GB). 12,500 FreePBX extensions (endpoint, aor, auth,
# identify) fit; half a million two-line sections under the line bound would not.
MAX_SECTIONS = 50_000

# First characters the inline path leaves to classify_line(): directives, escapes, BOMs;
# in a simple file (ASCII: no BOM) also '=' (no name).
_SCANNER_LEADS = "#\\" + BOM
_SIMPLE_LEADS = "#\\="
# `[name]` or `[name](options)` as _process() reads them: the name up to the first ']',
# the options up to the first ')'; whatever follows is ignored. `[name](` without ')'
# does not match (a hard error, left to the scanner).
_HEADER = re.compile(r"\[([^\]]+)\](?:\(([^)]*)\)|(?!\())").match


# Lines Asterisk's config.c cannot use: (level, code, its message). Fatal ones end the file.
ODDITIES: dict[Kind, tuple[IssueLevel, str, str]] = {
    Kind.TOO_LONG: (IssueLevel.WARNING, "line-too-long",
                    "Line {number} too long, skipping (8191 bytes or more)"),
    Kind.NO_EQUALS: (IssueLevel.WARNING, "no-equals",
                     "No '=' (equal sign) in line {number} of {file}"),
    Kind.NO_NAME: (IssueLevel.WARNING, "no-name", "No variable name in line {number} of {file}"),
    Kind.BAD_ESCAPE: (IssueLevel.FATAL, "bad-escape", "Invalid escape in line {number} of {file}"),
    Kind.BAD_SECTION: (IssueLevel.FATAL, "bad-section",
                       "parse error: {value}, line {number} of {file}"),
}

class CategoryBuilder:
    """The categories of one load, and the state process_text_line() keeps between lines."""

    # False: every line through classify_line() and every header through the general
    # _section() (tests compare both paths)
    inline = True

    def __init__(self) -> None:
        self.config = LoadedConfig(filename="")
        self.index: dict[str, list[Category]] = {}
        self.current: Category | None = None
        self._last_section: Category | None = None
        self.inherited = 0
        self.appends = Appends()
        # A base's text in `[name](base)` -> the first category of that name (it stays the
        # first: categories are only ever added)
        self._bases: dict[str, Category] = {}

    def _issue(self, level: IssueLevel, code: str, message: str, file: str,
               line: int | None = None) -> None:
        self.config.issues.append(LoadIssue(level, code, message, file, line))

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
        inline = self.inline
        start = 0  # the line (from 0) to start at
        if inline and not depth and doc.simple:
            ok, cat, start = self._process_simple(doc, cat)
            if not ok or start < 0:
                return ok, cat, 0
        file = doc.name
        leads = _SCANNER_LEADS
        blanks = BLANKS
        # Per file, not per line: no NUL byte and no line near fgets()'s limit.
        checked = inline and doc.plain
        limit = MAX_LINE_BYTES // 4
        begin = 0  # line where the open block comment started
        # The current category's name and list append, looked up once per section.
        section = cat.name if cat is not None else ""
        add = cat.variables.append if cat is not None else None
        text: str | None
        for number, raw in enumerate(doc.raws[start:] if start else doc.raws, start + 1):
            text = None
            if inline and not depth:
                if ";" not in raw:
                    text = raw.strip(blanks)
                else:
                    semi = raw.find(";")
                    if not ((semi and raw[semi - 1] == "\\")
                            or (raw[semi + 1:semi + 3] == "--" and raw[semi + 3:semi + 4] != "-")
                            or (semi >= 2 and raw[semi - 2:semi] == "--")):
                        # `key=value ; note`: decomment()'s own fast path
                        text = raw[:semi].strip(blanks)
            if text is not None and (checked or (len(raw) < limit and "\0" not in raw)):
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
                        section = cat.name
                        add = cat.variables.append
                        continue
                elif lead not in leads and add is not None:
                    key, eq, rest = text.partition("=")
                    if key and eq and key[-1] != "+":
                        if rest[:1] == ">":
                            add(Variable(key.rstrip(blanks), rest[1:].strip(blanks), file,
                                         number, section, True))
                        else:
                            add(Variable(key.rstrip(blanks), rest.strip(blanks), file, number,
                                         section))
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
                assert cat is not None
                section = cat.name
                add = cat.variables.append
        if depth:
            self._issue(IssueLevel.WARNING, "unterminated-comment",
                        f"Unterminated comment detected beginning on line {begin}: "
                        "everything after it is ignored", file, begin)
        return True, cat, depth

    def _process_simple(self, doc: ConfigFile, cat: Category | None,
                        ) -> tuple[bool, Category | None, int]:
        """_process() for a file where it can do less per line (ConfigFile.simple):
        str.strip() strips Asterisk's blanks, no line holds a NUL or comes near fgets()'s
        limit, and until a line with `;--` or `--;` the block-comment depth stays 0. Same
        lines, same result; (ok, category, -1), or the index of the line with a block
        comment mark for _process() to go on from (with that category)."""
        file = doc.name
        leads = _SIMPLE_LEADS
        header = _HEADER
        section = cat.name if cat is not None else ""
        add = cat.variables.append if cat is not None else None
        for number, raw in enumerate(doc.raws, 1):
            text = raw.strip()
            if not text:
                continue
            if ";" in text:
                if ";--" in text or "--;" in text:
                    return True, cat, number - 1  # the depth may change: not simple
                semi = text.find(";")
                if semi and text[semi - 1] == "\\":
                    text = "\\"  # `\;` is no comment: the scanner unescapes it
                else:
                    text = text[:semi].rstrip()
                    if not text:
                        continue
            lead = text[0]
            if lead == "[":
                match = header(text)
                if match is not None:
                    found = self._header(match[1], match[2], file, number)
                    if found is None:
                        return False, None, 0
                    cat = found
                    section = cat.name
                    add = cat.variables.append
                    continue
            elif lead not in leads and add is not None:
                key, eq, rest = text.partition("=")  # key: at least the lead
                if eq and key[-1] != "+":
                    if rest[:1] == ">":
                        add(Variable(key.rstrip(), rest[1:].lstrip(), file, number, section,
                                     True))
                    else:
                        add(Variable(key.rstrip(), rest.lstrip(), file, number, section))
                    continue
            line = Line(raw)  # the rest goes through the scanner, at depth 0
            classify_line(line, raw, 0)
            if not self._line(line, file, number, cat):
                return False, None, 0
            if line.kind == Kind.SECTION:
                cat = self._last_section
                assert cat is not None
                section = cat.name
                add = cat.variables.append
        return True, cat, -1

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
                self.appends.append(cat, line.name, line.value, file, number)
            else:
                cat.variables.append(Variable(line.name, line.value, file, number, cat.name,
                                              line.op == "=>"))
            return True
        if kind == Kind.DIRECTIVE:
            return self._directive(line, file, number)
        return self._oddity(line, file, number)

    def _oddity(self, line: Line, file: str, number: int) -> bool:
        """A line Asterisk cannot use: its message (config.c's words); False when it stops
        the file (a fatal one)."""
        found = ODDITIES.get(line.kind)
        if found is None:
            return True
        level, code, text = found
        self._issue(level, code, text.format(number=number, file=file, value=line.value),
                    file, number)
        return level is not IssueLevel.FATAL

    def _header(self, name: str, options: str | None, file: str,
                number: int) -> Category | None:
        """_section() for a header's name and its options text (None: no parentheses)."""
        categories = self.config.categories
        base = self._bases.get(options) if options is not None else None
        if (options is None or base is not None) and len(categories) < MAX_SECTIONS:
            # `[name]` or `[name](base)` with a base seen before: nearly every header of a
            # big pjsip.conf (_section() gives the same category).
            cat = Category(name, file, number)
            if options is not None and base is not None:
                if self.appends.pending:
                    self.appends.settle()  # as _section() does
                if self.inherited + len(base.variables) > MAX_INHERITED:
                    return self._section(name, [options], file, number)
                self.inherited += len(base.variables)
                cat.bases.append(base.name)
                cat.variables.extend(base.variables)
            categories.append(cat)
            self._index(cat, name)
            return cat
        return self._section(name, options.split(",") if options is not None else None, file,
                             number)

    def _section(self, name: str, options: list[str] | None, file: str,
                 number: int) -> Category | None:
        """process_text_line()'s '[': a new category, a (+) addition, or an error (None)."""
        if len(self.config.categories) >= MAX_SECTIONS:
            self._issue(IssueLevel.FATAL, "too-many-sections",
                        f"{self.config.filename} with its includes has over {MAX_SECTIONS:,} "
                        f"sections (at line {number} of {file}): trunkconsole stops reading it",
                        file, number)
            return None
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
                # _find(option, "", base=True), inlined: every trunk section inherits
                bases = self.index.get(option.lower()) if option else self.config.categories
                base = bases[0] if bases else None
                if base is None:
                    self._issue(IssueLevel.FATAL, "base-missing",
                                f"Inheritance requested, but category '{option}' does not "
                                f"exist, line {number} of {file}", file, number)
                    return None
                if self.appends.pending:
                    self.appends.settle()  # a copy shares the Variable: it must not grow later
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
                if option:
                    self._bases[option] = base
        if newcat is not None:
            self.config.categories.append(newcat)
            self._index(newcat, name)
        return cat

    def _index(self, cat: Category, name: str) -> None:
        """A new category: findable by name, and the one later lines go to."""
        same = self.index.get(low := name.lower())
        if same is None:
            self.index[low] = [cat]
        else:
            same.append(cat)
        self.current = cat

    def _find(self, name: str, filter_: str, base: bool) -> Category | None:
        """category_get_sep()/does_category_match(): the first category that qualifies."""
        candidates = self.index.get(name.lower(), []) if name else self.config.categories
        if not candidates:
            return None
        if base:
            return candidates[0]  # "TEMPLATES=include": templates and normal sections alike
        if not filter_:
            return next((cat for cat in candidates if not cat.template), None)
        self.appends.settle()
        index = first_matching(candidates, filter_)
        return candidates[index] if index >= 0 else None

    def _directive(self, line: Line, file: str, number: int) -> bool:
        """#include, #tryinclude, #exec: the loader's (False on a hard error)."""
        raise NotImplementedError
