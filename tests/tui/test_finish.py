"""Themes from files, help, the command palette, keymap overrides, read-only, SIGHUP."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.resources import themes_dir
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.help import HelpScreen
from trunkconsole.tui.themes import load_themes, parse_theme, user_themes_dir

from .screen import visible_text


def offline_app(**kwargs: Any) -> TrunkConsoleApp:
    return TrunkConsoleApp(Settings(ami=AmiTarget(), **kwargs), connect=False)


def test_builtin_themes_load() -> None:
    loaded = load_themes([themes_dir()])
    assert loaded.errors == []
    assert set(loaded.themes) == {"trunk-dark", "trunk-light", "trunk-ansi-dark",
                                  "trunk-ansi-light"}
    assert loaded.themes["trunk-ansi-dark"].ansi


def test_user_theme_overrides_and_bad_file_reported(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "mine.yaml").write_text("name: trunk-dark\nprimary: '#FF0000'\n")
    (user / "broken.yaml").write_text("primary: [unclosed\n")
    (user / "badcolor.yaml").write_text("primary: notacolour\n")
    (user / "unknown.yaml").write_text("primary: '#000000'\nsparkle: yes\n")
    loaded = load_themes([themes_dir(), user])
    assert loaded.themes["trunk-dark"].primary == "#FF0000"
    assert len(loaded.errors) == 3
    assert any("badcolor.yaml" in e and "not a colour" in e for e in loaded.errors)
    assert any("unknown keys: sparkle" in e for e in loaded.errors)
    (tmp_path / "x.yaml").write_text("dark: true\n")
    with pytest.raises(ValueError, match="'primary' is required"):
        parse_theme(tmp_path / "x.yaml")


async def test_bad_theme_one_notice_and_fallback() -> None:
    user = user_themes_dir()
    user.mkdir(parents=True, exist_ok=True)
    (user / "a.yaml").write_text("primary: nope\n")
    (user / "b.yaml").write_text("[broken\n")
    app = offline_app(theme="no-such-theme")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == "trunk-dark"
        notices = [n.message for n in app._notifications]
    assert any("a.yaml" in n and "b.yaml" in n for n in notices)  # one notice for both
    assert any("no-such-theme" in n for n in notices)


async def test_theme_choice_is_remembered() -> None:
    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = "trunk-light"
        await pilot.pause()
    config = Path(os.environ["TRUNKCONSOLE_CONFIG"]).read_text()
    assert "theme: trunk-light" in config


async def test_help_lists_keys_with_ids() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = visible_text(app)
        for fragment in ("Add provider IP", "add-identify", "Reconnect", "screen-logger"):
            assert fragment in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_override_from_settings() -> None:
    app = offline_app(keymap={"add-identify": "ctrl+a"})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert type(app.screen).__name__ == "IdentifyAddDialog"


async def test_palette_offers_screens_and_trunks(tmp_path: Path) -> None:
    from trunkconsole.resources import sample_configs_dir

    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("pjsip.conf", "extensions.conf"):
        (etc / name).write_bytes((sample_configs_dir() / "lab" / name).read_bytes())
    app = offline_app(asterisk_dir=etc)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"carrier")
        await pilot.pause(0.5)
        text = visible_text(app)
        assert "Add provider IP to trunk carrier" in text
        assert "SIP logger for trunk carrier" in text
        assert "Go to trunk carrier" in text
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"sip logger")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "SipLoggerScreen"


async def test_readonly_is_visible_and_enforced() -> None:
    app = offline_app(readonly=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        assert "READ-ONLY" in visible_text(app)


def _threads_of(pid: int) -> list[str]:
    """Name, state and kernel wait channel of each thread (what a stuck exit waits on)."""
    found = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            name = (task / "comm").read_text().strip()
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
            wchan = (task / "wchan").read_text().strip()
        except OSError:
            continue
        found.append(f"{name} {state} {wchan}")
    return found


def test_sighup_exits_cleanly() -> None:
    """A dropped SSH session: the terminal hangs up (the pty master closes) and the
    console must leave, not spin."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the console on the pty, with an AMI that never answers
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "trunkconsole", "--port", "1"])
    try:
        deadline = time.monotonic() + 10
        seen = b""
        while b"reconnecting" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
        assert b"reconnecting" in seen, "console did not start"
    finally:
        os.close(master)  # the hang-up
    # A hang guard, not a speed target: on a loaded CI machine (three lab workers on two
    # cores) leaving took longer than 10 s once; a spinning console never leaves.
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        time.sleep(0.1)
    else:
        threads = _threads_of(pid)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"console still running 30 s after the hang-up: {threads}")
    assert status is not None
