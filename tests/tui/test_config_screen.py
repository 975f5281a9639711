"""The config screen shows trunks, values with their origins, and findings beside them."""

from __future__ import annotations

from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.pjsip.trunks import trunk_groups
from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.config import ConfigScreen

from .screen import visible_text


def test_trunk_groups_collect_objects_and_findings() -> None:
    system = load_asterisk(sample_configs_dir() / "check-critical")
    groups = {g.name: g for g in trunk_groups(system.pjsip, config_findings(system))}
    d = groups["provider-d"]
    assert [f.code for f in d.findings].count("unknown-option") == 1
    assert {f.code for f in d.findings} >= {"endpoint-missing-aor", "context-missing"}
    e = groups["provider-e"]
    assert [i.id for i in e.identifies] == ["provider-e-id"]
    assert e.is_trunk


async def test_config_screen_shows_origins_and_findings() -> None:
    settings = Settings(ami=AmiTarget(), asterisk_dir=sample_configs_dir() / "check-critical")
    app = TrunkConsoleApp(settings, connect=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await app.push_screen(ConfigScreen())
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        index = [g.name for g in screen.groups].index("provider-d")
        screen.show(index)
        await pilot.pause(0.3)
        text = visible_text(app)
        assert "endpoint provider-d  pjsip.conf:18" in text
        assert "pjsip.conf:12 (trunk-tmpl)" in text  # allow=alaw from the template
        assert "direct_meda" in text
        assert "unknown option 'direct_meda'" in text
