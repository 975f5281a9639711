"""Config values, file names and firewall comments with control characters reach the
Config and Network screens visibly (issue 11): the rendered screen, as Textual writes it
to the terminal, holds no raw C0/C1/bidi/line-separator code point.

Real files: a config directory whose section names, values, comments and an included
file's name carry escape sequences, and an `nft -j` ruleset (from a real capture) whose
rule comment, log prefix and chain name carry them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tui.test_network_screen import from_rules, network_app, settled
from tests.unit.test_visible import DANGEROUS
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.config import ConfigScreen

# No ';' (a comment in a config file) nor ']' (it ends a section name) in the config one.
PAYLOAD = "\x1b[2J\x1bP\x9b31m\u2028\u202e\x85\x0b\x07"
OSC = "\x1b]0;pwned\x07\x1b]52;c;ZWNobw==\x07" + PAYLOAD
RULES = Path(__file__).parent.parent / "fixtures" / "net"


def raw_in(rendered: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in rendered if c in DANGEROUS and c != "\n"})


def hostile_config(directory: Path) -> Path:
    directory.mkdir()
    included = f"inc{PAYLOAD}.conf"
    (directory / included).write_text(f"[evil{PAYLOAD}]\ntype=aor\ncontact=sip:x{PAYLOAD}@"
                                      "192.0.2.9\n")
    (directory / "pjsip.conf").write_text(
        f"; comment {PAYLOAD}\n"
        f"[carrier{PAYLOAD}]\ntype=endpoint\naors=carrier{PAYLOAD}\ncontext=in{PAYLOAD}\n"
        f"callerid=\"{PAYLOAD}\" <1555{PAYLOAD}>\nfrom_user=1555{PAYLOAD}\n"
        f"[carrier{PAYLOAD}]\ntype=aor\ncontact=sip:203.0.113.10\n"
        f"[carrier{PAYLOAD}]\ntype=identify\nendpoint=carrier{PAYLOAD}\n"
        f"match=203.0.113.10,{PAYLOAD}\n"
        f"#include \"{included}\"\n#include \"missing{PAYLOAD}.conf\"\n")
    return directory


async def test_config_screen_shows_hostile_config_text_visibly(tmp_path: Path) -> None:
    settings = Settings(ami=AmiTarget(), asterisk_dir=hostile_config(tmp_path / "etc"))
    app = TrunkConsoleApp(settings, connect=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await app.push_screen(ConfigScreen())
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        shots = []
        for _ in range(100):
            if screen.groups:
                break
            await pilot.pause(0.05)
        assert screen.groups
        for index in range(len(screen.groups)):
            screen.show(index)
            await pilot.pause(0.2)
            shots.append(app.export_screenshot())
        assert any("\\x1b[2J" in shot for shot in shots)  # shown, as an escape
        for shot in shots:
            assert raw_in(shot) == []


def hostile_ruleset(path: Path) -> Path:
    data: dict[str, Any] = json.loads((RULES / "f2b-nftables.json").read_text())
    rules = [item["rule"] for item in data["nftables"] if "rule" in item]
    for rule in rules:
        rule["comment"] = f"carrier {OSC}"
        rule["expr"].insert(0, {"log": {"prefix": OSC}})
    path.write_text(json.dumps(data))
    return path


async def test_network_screen_shows_hostile_rule_comments_visibly(tmp_path: Path) -> None:
    app = network_app(from_rules(hostile_ruleset(tmp_path / "rules.json")),
                      hostile_config(tmp_path / "etc"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settled(app, pilot)
        shots = [app.export_screenshot()]
        await pilot.press("enter")  # the why-dialog: the deciding rule, its comment
        await pilot.pause(0.5)
        shots.append(app.export_screenshot())
        for shot in shots:
            assert raw_in(shot) == []
