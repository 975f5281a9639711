"""Load a config file with its #includes into categories, as ast_config_load() does.

Facts from main/config.c that this module reproduces (see reference section 5.1):
- Lines at the top of an included file attach to the config's current category; after
  the #include the including file carries on with its own current category.
- A hard error drops the rest of that file; in the top-level file it invalidates the
  whole load (CONFIG_STATUS_FILEINVALID). Includes nest at most 10 levels.

The lines of each file become categories (templates, (+) additions, settings) in
categories.py.
"""

from __future__ import annotations

from pathlib import Path

from trunkconsole.conf.categories import MAX_INHERITED, MAX_SECTIONS, CategoryBuilder
from trunkconsole.conf.document import Documents, UnreadableFile
from trunkconsole.conf.includes import MAX_INCLUDE_NAMES, TooManyNames, display_name, resolve
from trunkconsole.conf.lines import Line
from trunkconsole.conf.tree import Include, IssueLevel, LoadedConfig

MAX_INCLUDE_LEVEL = 10
# A bound Asterisk does not have (it would run out of memory or time first): lines read
# in one load (every file and every repeat of an include). The bounds on sections and
# inherited variables live beside the code that counts them (categories.py).
MAX_LOAD_LINES = 2_000_000
_MISSING, _OK, _INVALID = 0, 1, 2

__all__ = ["MAX_INHERITED", "MAX_SECTIONS", "Documents", "Loader", "load_config"]


class Loader(CategoryBuilder):
    """One load of one top-level file: the state config_text_file_load() keeps."""

    def __init__(self, documents: Documents, exec_includes: bool = False) -> None:
        super().__init__()
        self.documents = documents
        self.exec_includes = exec_includes
        self.level = 0
        self.stack: list[Path] = []
        self.lines_read = 0

    def load(self, filename: str) -> LoadedConfig:
        """Load filename (relative to the config dir, or absolute) and everything it includes."""
        self.config = LoadedConfig(filename=filename)
        status = self._load(filename, None)
        self.appends.settle()
        self.config.found = status != _MISSING
        self.config.valid = status != _INVALID
        return self.config

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


def load_config(config_dir: Path, filename: str, documents: Documents | None = None,
                exec_includes: bool = False) -> LoadedConfig:
    """Load one config file from config_dir the way Asterisk would."""
    docs = documents if documents is not None else Documents(config_dir)
    return Loader(docs, exec_includes).load(filename)
