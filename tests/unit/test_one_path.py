"""One core path per action, checked in the source (issue 12's screen contract).

- `logger on` is assembled once (changes/logger_on.py): every caller that switches the SIP
  logger on (the CLI twin, the console's logger screen, the workflow, the pre-flight) goes
  through switch_logger_on, so every one of them starts the guard that switches it off.
- A firewall trace is assembled once (changes/trace.py trace_packets): `firewall trace` and
  the Network screen's T both call it, so both refuse legacy-only hosts and both trace
  through the same guarded table.
- The console reads its app through a typed getter: no getattr and no `type: ignore` in tui/.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import trunkconsole

PACKAGE = Path(trunkconsole.__file__).parent
LOGGER_ON = PACKAGE / "changes" / "logger_on.py"


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def calls(path: Path) -> list[tuple[str, ast.Call]]:
    """Every call in a module with the name it calls (`x.on(...)` -> "on")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else (
                func.id if isinstance(func, ast.Name) else "")
            found.append((name, node))
    return found


def test_the_logger_is_switched_on_and_guarded_in_one_place() -> None:
    switched: list[str] = []
    guarded: list[str] = []
    users: list[str] = []
    for path in modules():
        where = str(path.relative_to(PACKAGE))
        for name, call in calls(path):
            # SipLogger.on(hosts, methods, seconds): the only `.on` with three arguments.
            if name == "on" and isinstance(call.func, ast.Attribute) and \
                    len(call.args) + len(call.keywords) >= 3:
                switched.append(where)
            if name == "start_guard":
                guarded.append(where)
            if name == "switch_logger_on":
                users.append(where)
    assert switched == ["changes/logger_on.py"], switched
    assert guarded == ["changes/logger_on.py"], guarded
    # The four front doors of the logger all take the one path.
    for caller in ("cli/logger.py", "tui/screens/sip_logger.py", "diagnose/workflow.py",
                   "calls/preflight.py"):
        assert caller in users, (caller, users)


def test_no_getattr_or_type_ignore_in_the_console() -> None:
    found = [f"{p.relative_to(PACKAGE)}:{n}: {line.strip()}"
             for p in sorted((PACKAGE / "tui").rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\bgetattr\(|type:\s*ignore", line)]
    assert not found, found



def test_a_trace_is_assembled_in_one_place() -> None:
    tables: list[str] = []
    users: list[str] = []
    for path in modules():
        where = str(path.relative_to(PACKAGE))
        for name, _call in calls(path):
            if name in ("trace_table", "read_monitor"):
                tables.append(where)
            if name == "trace_packets":
                users.append(where)
    assert set(tables) == {"changes/trace.py"}, tables
    assert {"cli/trace.py", "tui/dialogs/trace.py"} <= set(users), users
