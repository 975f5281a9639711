"""CrowdSec's own account of a ban: `cscli decisions list -i ADDR -o json`, recorded from
cscli 1.4.6 against a real Local API (tests/fixtures/net/bans/cscli-1.4.6.source), joined
to the bouncer's real set (fixtures/net/crowdsec-nftables.json, bouncer 0.0.25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.net.bans import BanIndex
from trunkconsole.net.collect import Capture
from trunkconsole.net.crowdsec import decisions_on, go_duration, parse_decisions

NET = Path(__file__).resolve().parents[1] / "fixtures" / "net"
BANS = NET / "bans"


def cscli(name: str) -> str:
    return (BANS / f"cscli-1.4.6-decisions-list-{name}.json").read_text()


@pytest.mark.parametrize(("text", "seconds"), [
    ("3h59m56.250754696s", 14396.250754696), ("59m58.250757982s", 3598.250757982),
    ("29m46.073467972s", 1786.073467972), ("1.5s", 1.5), ("250ms", 0.25),
    ("-3m2s", -182.0), ("", None), ("4 hours", None), ("3h59", None)])
def test_go_durations(text: str, seconds: float | None) -> None:
    result = go_duration(text)
    assert result == pytest.approx(seconds) if seconds is not None else result is None


def test_manual_decisions_keep_their_reason_type_and_time() -> None:
    decisions = parse_decisions(cscli("cscli"))
    assert [(d.id, d.origin, d.type, d.scope, d.value) for d in decisions] == [
        (3, "cscli", "captcha", "Ip", "203.0.113.12"), (1, "cscli", "ban", "Ip", "203.0.113.12")]
    assert decisions[1].scenario == "manual ban: SIP scanner"
    assert decisions[1].left == pytest.approx(3 * 3600 + 59 * 60 + 40.801247848)  # 3h59m40.80s
    assert decisions[1].lift() == "cscli decisions delete -i 203.0.113.12"


def test_no_decision_is_null_in_1_4_and_an_empty_list_later() -> None:
    assert cscli("none").strip() == "null"
    assert parse_decisions(cscli("none")) == []
    assert parse_decisions("[]") == []  # clidecision/decisions.go prints [] for none
    with pytest.raises(ValueError, match="not a list"):
        parse_decisions('{"message": "access forbidden"}')


def test_decisions_on_reports_why_cscli_could_not_answer() -> None:
    def broken(_cmd: list[str]) -> tuple[int, str, str]:
        return 1, "", ('level=fatal msg="unable to retrieve decisions: performing request: '
                       'Get \\"http://127.0.0.1:8080/v1/alerts\\": dial tcp 127.0.0.1:8080: '
                       'connect: connection refused"\n')

    decisions, error = decisions_on("198.51.100.77", broken)
    assert decisions == []
    assert "connection refused" in error


def test_a_bouncer_set_element_named_with_the_agents_scenario_and_range_decision() -> None:
    asked: list[list[str]] = []

    def run(cmd: list[str]) -> tuple[int, str, str]:
        asked.append(cmd)
        return 0, cscli("agent"), ""

    ruleset = Capture(nft_json=(NET / "crowdsec-nftables.json").read_text()).ruleset()
    index = BanIndex(ruleset=ruleset, read_at=1_000_000.0,
                     crowdsec=lambda address: decisions_on(address, run))
    [ban] = index.lookup("198.51.100.77")
    assert asked == [["cscli", "decisions", "list", "-i", "198.51.100.77", "-o", "json"]]
    assert (ban.tool, ban.origin, ban.scenario, ban.confirmed) == (
        "crowdsec", "crowdsec", "crowdsecurity/asterisk_bf", True)
    assert ban.describe(1_000_000.0) == ("CrowdSec (crowdsec: crowdsecurity/asterisk_bf) "
                                         "(set ip crowdsec crowdsec-blacklists), "
                                         "3 h 59 min left")
    assert ban.lift() == ("cscli decisions delete -i 198.51.100.77; "
                          "cscli decisions delete -r 198.51.100.0/24")
    assert ban.fix().startswith(ban.lift() + "; keep it allowed: cscli allowlists")
    assert [d["origin"] for d in ban.to_json()["decisions"]] == ["crowdsec", "cscli"]
    index.lookup("198.51.100.77")
    assert len(asked) == 1  # asked once per address and read


def test_without_cscli_the_set_alone_names_the_ban() -> None:
    ruleset = Capture(nft_json=(NET / "crowdsec-nftables.json").read_text()).ruleset()
    [ban] = BanIndex(ruleset=ruleset).lookup("198.51.100.77")
    assert (ban.tool, ban.confirmed, ban.decisions) == ("crowdsec", False, ())
    assert ban.lift() == "cscli decisions delete -i 198.51.100.77"
    silent = BanIndex(ruleset=ruleset, crowdsec=lambda _a: ([], ""))
    assert "no decision" in silent.lookup("198.51.100.77")[0].note
