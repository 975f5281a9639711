"""The loaded configuration as Asterisk builds it: categories of variables, with origins."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Origin:
    """Where a value was written: file, line, and the section that holds that line."""

    __slots__ = ("file", "line", "section")

    def __init__(self, file: str, line: int, section: str) -> None:
        self.file = file
        self.line = line
        self.section = section

    def location(self) -> str:
        """file:line."""
        return f"{self.file}:{self.line}"

    def __repr__(self) -> str:
        return f"Origin({self.file}:{self.line} in [{self.section}])"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Origin) and self.file == other.file
                and self.line == other.line and self.section == other.section)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.section))


class Variable:
    """One key=value in a category. Immutable, so inherited copies share the object."""

    __slots__ = ("appended", "file", "key", "line", "name", "object", "section", "value")

    def __init__(self, name: str, value: str, file: str, line: int, section: str,
                 object_: bool = False,
                 appended: tuple[Origin, ...] | list[Origin] = ()) -> None:
        self.name = name
        self.key = name.lower()  # option names are case-insensitive; computed once
        self.value = value
        self.file = file
        self.line = line
        self.section = section  # the category the line is written in
        self.object = object_  # written with '=>'
        # '+=' lines that extended the value (a list only while the loader grows it)
        self.appended: tuple[Origin, ...] | list[Origin] = appended

    @property
    def origin(self) -> Origin:
        """Where the line is."""
        return Origin(self.file, self.line, self.section)

    def location(self) -> str:
        """file:line."""
        return f"{self.file}:{self.line}"

    def __repr__(self) -> str:
        return f"Variable({self.name}={self.value!r} @ {self.file}:{self.line})"


class Category:
    """A [section] after templates, inheritance and (+) additions."""

    __slots__ = ("additions", "bases", "file", "line", "name", "template", "variables")

    def __init__(self, name: str, file: str, line: int) -> None:
        self.name = name
        self.file = file
        self.line = line
        self.template = False
        self.bases: list[str] = []  # inherited categories, in order
        self.variables: list[Variable] = []
        self.additions: list[Origin] = []  # (+) headers that appended to it

    def get(self, key: str) -> Variable | None:
        """The last variable named key (case-insensitive), as ast_variable_retrieve() does."""
        key = key.lower()
        found = None
        for var in self.variables:
            if var.name.lower() == key:
                found = var
        return found

    def get_all(self, key: str) -> list[Variable]:
        """Every variable named key (case-insensitive), in order."""
        key = key.lower()
        return [var for var in self.variables if var.name.lower() == key]

    def inherited(self, var: Variable) -> bool:
        """True when the variable was copied from a template or base category."""
        return var.section.lower() != self.name.lower()

    def __repr__(self) -> str:
        flag = "(!)" if self.template else ""
        return f"Category([{self.name}]{flag} @ {self.file}:{self.line})"


class IssueLevel(Enum):
    """How Asterisk reacts: FATAL invalidates the rest of the file, WARNING is logged."""

    FATAL = "fatal"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class LoadIssue:
    """A parse problem with its file and line, in Asterisk's own words where it has them."""

    level: IssueLevel
    code: str
    message: str
    file: str
    line: int | None = None

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass
class Include:
    """An #include / #tryinclude / #exec line and what it resolved to."""

    directive: str  # include | tryinclude | exec
    argument: str
    file: str
    line: int
    targets: list[str] = field(default_factory=list)  # file names loaded from it


@dataclass
class LoadedConfig:
    """One top-level config file after #includes, as Asterisk's ast_config_load() sees it."""

    filename: str
    categories: list[Category] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, in order
    found: bool = True  # False: the top-level file does not exist
    valid: bool = True  # False: a hard error in the top-level file (FILEINVALID)

    def sections(self, name: str | None = None) -> list[Category]:
        """Non-template categories, optionally only those called name (case-insensitive)."""
        if name is None:
            return [cat for cat in self.categories if not cat.template]
        low = name.lower()
        return [cat for cat in self.categories if not cat.template and cat.name.lower() == low]

    def first(self, name: str) -> Category | None:
        """The first non-template category called name, as ast_category_get() finds it."""
        found = self.sections(name)
        return found[0] if found else None

    def retrieve(self, section: str, key: str) -> Variable | None:
        """ast_variable_retrieve(): the last `key` in the first section called `section`."""
        cat = self.first(section)
        return cat.get(key) if cat is not None else None
