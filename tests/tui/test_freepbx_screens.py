"""FreePBX boxes on screen: the Config screen says which values live in custom files and
which line wins; the review screen says FreePBX's GUI will not show the change (both
FreePBX layouts of tests/freepbx_layouts.py)."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import OptionList

from tests.freepbx_layouts import FREEPBX16, LAYOUTS, Layout
from trunkconsole.changes.identify import plan_identify_add
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.pjsip.freepbx import CUSTOM_MARK, custom_values
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.pjsip.trunks import trunk_groups
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.review import ReviewScreen
from trunkconsole.tui.screens.config import ConfigScreen, render_group

from .screen import settle, visible_text


def rendered(width: int) -> str:
    system = load_asterisk(FREEPBX16.path)
    [group] = [g for g in trunk_groups(system.pjsip, []) if g.name == "carrier-ip"]
    custom = custom_values(list(system.documents.by_path.values()))
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(render_group(group, custom, width))
    return " ".join(console.export_text().split())


@pytest.mark.parametrize("width", [60, 160])
def test_config_detail_marks_custom_values_and_the_winning_line(width: int) -> None:
    """Origins beside the values on a wide pane, below them on a narrow one: both say it."""
    text = rendered(width)
    assert "pjsip.endpoint.conf:14 overridden by pjsip.endpoint_custom_post.conf:3" in text
    assert ("pjsip.endpoint_custom_post.conf:3 wins over pjsip.endpoint.conf:14 "
            f"{CUSTOM_MARK}") in text
    # carrier-ip has two values in custom files: the context and a third match
    assert text.count(CUSTOM_MARK) == 2
    assert f"match = 203.0.113.12 pjsip.identify_custom_post.conf:2 {CUSTOM_MARK}" in text \
        or f"match 203.0.113.12 pjsip.identify_custom_post.conf:2 {CUSTOM_MARK}" in text


async def test_config_screen_shows_the_marks() -> None:
    settings = Settings(ami=AmiTarget(), asterisk_dir=FREEPBX16.path)
    app = TrunkConsoleApp(settings, connect=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await app.push_screen(ConfigScreen())
        deadline = time.monotonic() + 10
        while not (isinstance(app.screen, ConfigScreen) and app.screen.groups):
            assert time.monotonic() < deadline, "the Config screen read no trunks"
            await pilot.pause(0.1)
        screen = app.screen
        wanted = [g.name for g in screen.groups].index("carrier-ip")
        # As the operator does: highlight the trunk (a direct show() raced the list's own
        # first highlight, which arrives later on a busy machine and shows trunk 0).
        screen.query_one("#config-trunks", OptionList).highlighted = wanted
        while screen.shown != wanted:
            assert time.monotonic() < deadline, "the Config screen never showed carrier-ip"
            await pilot.pause(0.1)
        await settle(pilot)
        text = " ".join(visible_text(app).split())
    assert "from-carrier-custom" in text
    assert "wins over" in text
    assert "overridden by" in text
    assert "custom, not in FreePBX's" in text


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
async def test_review_of_an_identify_add_says_the_gui_will_not_show_it(
        tmp_path: Path, layout: Layout) -> None:
    etc = tmp_path / "etc"
    shutil.copytree(layout.path, etc)
    plan = plan_identify_add(etc, layout.ip_trunk, parse_provider_address("203.0.113.44"))

    class ReviewApp(TrunkConsoleApp):
        def on_ready(self) -> None:
            self.push_screen(ReviewScreen(plan.changeset))

    app = ReviewApp(Settings(ami=AmiTarget(), asterisk_dir=etc), connect=False)
    async with app.run_test(size=(160, 40)) as pilot:
        deadline = time.monotonic() + 10
        while not isinstance(app.screen, ReviewScreen):
            assert time.monotonic() < deadline
            await pilot.pause(0.1)
        await settle(pilot)
        text = " ".join(visible_text(app).replace("█", " ").split())
    assert "+match=203.0.113.44" in text
    assert plan.changeset.changes[0].path.name in text
    # the modal is narrower than the note: a wrapped line may show a word of the screen
    # behind it between two of its own, so the words are checked in two parts
    assert "FreePBX's database does not hold it, so its GUI" in text
    assert "will not show it (note it where your team documents the PBX)" in text
