"""Hostile config directories end fast, in bounded memory, with a clear error (issue 11).

Each case runs the real CLI (`trunkconsole check`) in a subprocess under RLIMIT_AS = 2 GB
and a 60 s timeout: nothing may hang, exceed 2 GB or print a traceback. A hypothesis fuzz
runs the parser on generated configs in a forked child under the same limits. The timeout
is a guard against hangs (a quadratic blow-up takes minutes to hours), not a speed target:
those live in bench/. Where growth matters (appends), it is checked as CPU time against
a tenth of the input in the same run.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkconsole.conf.loader import Documents, Loader, load_config
from trunkconsole.conf.tree import Category
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk

ROOT = Path(__file__).resolve().parents[2]
LIMIT_SECONDS = 60.0
LIMIT_BYTES = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def check_cli(config_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`trunkconsole check --config-dir DIR` under the limits; (process, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "trunkconsole", "check", "--config-dir", str(config_dir)],
        capture_output=True, text=True, timeout=LIMIT_SECONDS, preexec_fn=_limit_memory,
        cwd=ROOT, stdin=subprocess.DEVNULL, check=False)
    elapsed = time.monotonic() - start
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode in (0, 1, 2, 3), proc.stderr  # a Nagios verdict, not a crash
    assert elapsed < LIMIT_SECONDS
    return proc, elapsed


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def test_doubling_templates_stop_with_a_clear_error(tmp_path: Path) -> None:
    text = "[t0](!)\na=1\n" + "".join(f"[t{i}](!,t{i - 1},t{i - 1})\n" for i in range(1, 33))
    proc, _ = check_cli(write(tmp_path, {"pjsip.conf": text + "[x](t32)\ntype=aor\n"}))
    assert "inheritance-explosion" in proc.stdout
    assert "copy over 4,000,000 variables from templates" in proc.stdout


@pytest.mark.parametrize("directive", ["include", "tryinclude"])
def test_brace_explosion_in_an_include_is_refused(tmp_path: Path, directive: str) -> None:
    text = f"#{directive} " + "{a,b}" * 20 + "\n[x]\ntype=aor\n"
    proc, _ = check_cli(write(tmp_path, {"pjsip.conf": text}))
    assert "include-explosion" in proc.stdout
    assert "names more than 1024 files" in proc.stdout


def test_a_glob_over_thousands_of_files_is_refused(tmp_path: Path) -> None:
    for i in range(1100):
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / f"{i:04d}.conf").write_text(f"[t{i}]\ntype=aor\n")
    proc, _ = check_cli(write(tmp_path, {"pjsip.conf": "#include d/*.conf\n"}))
    assert "include-explosion" in proc.stdout


def _appends_cpu(directory: Path, count: int) -> float:
    """CPU seconds to load `count` appends to one option (the best of three)."""
    directory.mkdir(exist_ok=True)
    write(directory, {"pjsip.conf": "[x]\ntype=endpoint\nallow=ulaw\n"
                                    + "allow+=,alaw\n" * count})
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        loaded = load_config(directory, "pjsip.conf")
        best = min(best, time.process_time() - start)
    allow = loaded.categories[0].get("allow")
    assert allow is not None
    assert allow.value == "ulaw" + ",alaw" * count
    assert len(allow.appended) == count
    return best


def test_fifty_thousand_appends_are_linear(tmp_path: Path) -> None:
    small = _appends_cpu(tmp_path / "small", 5_000)
    large = _appends_cpu(tmp_path / "large", 50_000)
    # ten times the input: about ten times the CPU when linear, a hundred when quadratic
    # (the old loader took 26 s for 50,000)
    assert large < 30 * max(small, 0.005), f"{small:.3f} s -> {large:.3f} s"
    check_cli(tmp_path / "large")


def test_a_huge_file_is_refused_by_its_line_count(tmp_path: Path) -> None:
    with (tmp_path / "pjsip.conf").open("w") as handle:
        handle.write("[x]\ntype=aor\n")
        handle.write("a=1\n" * (30 * 1024 * 1024 // 4))
    proc, _ = check_cli(tmp_path)
    assert "more than the 1,000,000 we parse" in proc.stdout


def test_regex_shaped_filters_end(tmp_path: Path) -> None:
    # Backtracking engines never finish `a*a*...$` on a long value; glibc does it at once.
    value = "a" * 8000 + "!"
    text = (f"[x]\ntype=aor\nmax_contacts={value}\n[x](+max_contacts={'a*' * 12}$)\n"
            "qualify_frequency=60\n")
    proc, _ = check_cli(write(tmp_path, {"pjsip.conf": text}))
    loaded = load_config(tmp_path, "pjsip.conf")
    assert loaded.categories[0].get("qualify_frequency") is not None  # it matched
    assert "filter-too-slow" not in proc.stdout


def test_a_filter_too_slow_for_the_limit_is_a_clear_error(tmp_path: Path) -> None:
    # glibc needs ~52 s for a*a{255}a*a{255}a*$ on an 8 KB value (measured): over
    # the 3 s box. (A filter holds no ')' or ',': the header ends at the first ')' and
    # its options are split on ',', by Asterisk too.)
    text = (f"[x]\ntype=aor\nv0={'a' * 8000}!\n[x](+v.=a*a{{255}}a*a{{255}}a*$)\n"
            "qualify_frequency=60\n")
    proc, elapsed = check_cli(write(tmp_path, {"pjsip.conf": text}))
    assert "filter-too-slow" in proc.stdout
    assert elapsed < LIMIT_SECONDS


def test_deep_braces_and_include_loops_end(tmp_path: Path) -> None:
    files = {"pjsip.conf": "#tryinclude " + "{a}" * 5000 + "\n#include self.conf\n",
             "self.conf": "[s]\ntype=aor\n" + "x=1\n" * 5_000 + "#include self.conf\n"}
    proc, _ = check_cli(write(tmp_path, files))
    assert "include" in proc.stdout


# -- the += semantics, against a literal model of main/config.c ---------------------------

def reference(lines: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """process_text_line() for one category, as the C code reads: `+=` finds the last
    exact-name variable, then ast_variable_update() rewrites the last variable with that
    name (any case) and that old value (any case)."""
    blanks = "".join(chr(c) for c in range(1, 33))
    out: list[tuple[str, str]] = []
    for name, op, value in lines:
        if op == "=":
            out.append((name, value.strip(blanks)))
            continue
        replace = next((v for v in reversed(out) if v[0] == name), None)
        if replace is None:
            out.append((name, value.strip(blanks)))
            continue
        combined = (replace[1] + value).rstrip(blanks).lstrip(blanks)
        target = -1
        for i, (n, v) in enumerate(out):
            if n.lower() == replace[0].lower() and (not replace[1]
                                                     or v.lower() == replace[1].lower()):
                target = i
        if target >= 0:
            out[target] = (replace[0], combined)
    return out


NAMES = st.sampled_from(["a", "A", "b"])
VALUES = st.sampled_from(["", "x", "X", " y", "z ", "  ", "x,y", "\t"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, st.sampled_from(["=", "+="]), VALUES), max_size=12),
       st.booleans())
def test_appends_match_the_c_semantics(lines: list[tuple[str, str, str]],
                                       inherit: bool) -> None:
    body = "".join(f"{n}{op}{v}\n" for n, op, v in lines)
    # With inherit, the lines are split around a copy into [y]: copies must not grow.
    half = len(lines) // 2
    if inherit:
        first = "".join(f"{n}{op}{v}\n" for n, op, v in lines[:half])
        rest = "".join(f"{n}{op}{v}\n" for n, op, v in lines[half:])
        text = f"[x]\n{first}[y](x)\n[x](+)\n{rest}"
    else:
        text = f"[x]\n{body}"
    docs = Documents(Path("/nonexistent"))
    from trunkconsole.conf.document import ConfigFile
    docs.by_path[Path("/nonexistent/t.conf")] = ConfigFile.from_text(text, "t.conf")
    loaded = Loader(docs).load("t.conf")
    cat: Category = loaded.categories[0]
    assert [(v.name, v.value) for v in cat.variables] == reference(lines)
    if inherit:
        [y] = [c for c in loaded.categories if c.name == "y"]
        assert [(v.name, v.value) for v in y.variables] == reference(lines[:half])


# -- fuzz: generated configs parse within the limits ----------------------------------------

def run_limited(work: Callable[[], None], seconds: float = LIMIT_SECONDS) -> str:
    """work() in a forked child under RLIMIT_AS; 'ok', 'timeout' or the child's error."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        message = b"ok"
        try:
            os.close(read_end)
            _limit_memory()
            work()
        except BaseException as exc:  # report anything: the parent asserts on it
            message = f"{type(exc).__name__}: {exc}".encode()[:2000]
        finally:
            os.write(write_end, message)
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + seconds
    chunks = []
    import select
    while time.monotonic() < deadline:
        ready, _, _ = select.select([read_end], [], [], 0.1)
        if ready:
            data = os.read(read_end, 4096)
            if not data:
                break
            chunks.append(data)
    os.close(read_end)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode() or "timeout"


SECTION_NAMES = st.sampled_from(["t", "x", "carrier", "6001", "T"])
LINE = st.one_of(
    st.builds(lambda n, o: f"[{n}]({o})", SECTION_NAMES,
              st.sampled_from(["!", "t", "!,t,t", "+", "+type=aor", "+type=(a|b)*$",
                               "+.*=.*", "+TEMPLATES=include", "x,t", "+[=", "+a*a*a*$"])),
    st.builds(lambda n: f"[{n}]", SECTION_NAMES),
    st.builds(lambda k, op, v: f"{k}{op}{v}", st.sampled_from(["type", "allow", "a", "A"]),
              st.sampled_from(["=", "+=", "=>", " = "]),
              st.sampled_from(["aor", "endpoint", "ulaw", ",alaw", "", "x;y", "x\\;y"])),
    st.sampled_from(["#include {a,b}{c,d}", "#tryinclude *.conf", "#include t.conf",
                     "#tryinclude {a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}",
                     ";-- open", "--; close", "; comment", "\\ bad", "= novalue", "junk",
                     "#exec /bin/true", "[broken", "[x](", "\ufeff[bom]"]),
    st.text(max_size=40),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, max_size=60), st.lists(LINE, max_size=20), st.integers(0, 12))
def test_fuzz_config_parser_within_limits(tmp_path_factory: pytest.TempPathFactory,
                                          main: list[str], included: list[str],
                                          doubling: int) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    chain = "[t](!)\na=1\n" + "".join("[t](!,t,t)\n" for _ in range(doubling))
    (directory / "pjsip.conf").write_text(chain + "\n".join(main) + "\n",
                                          errors="surrogateescape")
    (directory / "t.conf").write_text("\n".join(included) + "\n", errors="surrogateescape")

    def parse() -> None:
        config_findings(load_asterisk(directory))

    start = time.monotonic()
    outcome = run_limited(parse)
    assert outcome == "ok", outcome
    assert time.monotonic() - start < LIMIT_SECONDS
