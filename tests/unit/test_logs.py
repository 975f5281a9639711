"""Asterisk's log files: dateformats, the three formatters, rotation, bounded reads.

The fixture lines were written by the lab's Asterisk 22.10 (tests/fixtures/asterisk-logs:
`[default]`, `[plain]` and `[json]` formatters, `dateformat = %F %T.%3q` and the default
`%b %e %T`), not typed from memory.
"""

from __future__ import annotations

import gzip
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from trunkconsole.changes.logger_conf import plan_logging
from trunkconsole.errors import OperatorError
from trunkconsole.logs import tail
from trunkconsole.logs.clock import DateParser, UnsupportedDateformat, parse_event_tv
from trunkconsole.logs.events import LineParser, keep
from trunkconsole.logs.findings import log_findings
from trunkconsole.logs.record import merge_senders, read_logs, split_host_port
from trunkconsole.logs.setup import host_path, read_setup
from trunkconsole.model.senders import SenderLog
from trunkconsole.timewindow import parse_since
from trunkconsole.visible import visible

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk-logs"
NOV26 = datetime(2026, 11, 26, 13, 0).timestamp()


def test_since_one_meaning() -> None:
    assert parse_since("1h") == 3600
    assert parse_since("90s") == 90
    assert parse_since("1h30m") == 5400
    assert parse_since("7d") == 7 * 86400
    assert parse_since("600") == 600
    for bad in ("", "h", "1x", "-1h", "0", "1h 2m", "1000d"):
        with pytest.raises(ValueError, match=r"duration|between"):
            parse_since(bad)


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("%F %T.%3q", "2026-11-26 12:23:15.418", datetime(2026, 11, 26, 12, 23, 15, 418000)),
    ("%F %T", "2026-11-26 12:23:15", datetime(2026, 11, 26, 12, 23, 15)),
    ("%b %e %T", "Nov 26 12:27:02", datetime(2026, 11, 26, 12, 27, 2)),
    ("%b %e %T", "Nov  6 01:02:03", datetime(2026, 11, 6, 1, 2, 3)),
    ("%d/%m/%Y %H:%M:%S", "06/11/2026 01:02:03", datetime(2026, 11, 6, 1, 2, 3)),
    ("%Y%m%d-%H%M%S.%q", "20261126-122315.5", datetime(2026, 11, 26, 12, 23, 15, 500000)),
])
def test_dateformats(fmt: str, text: str, expected: datetime) -> None:
    assert DateParser(fmt, now=lambda: NOV26).parse(text) == pytest.approx(expected.timestamp())


def test_default_dateformat_has_no_year_december_read_in_january() -> None:
    january = datetime(2027, 1, 2, 0, 0).timestamp()
    parsed = DateParser("%b %e %T", now=lambda: january).parse("Dec 31 23:59:59")
    assert parsed == datetime(2026, 12, 31, 23, 59, 59).timestamp()


def test_epoch_dateformat_and_event_tv() -> None:
    assert DateParser("%s").parse("1795695795") == 1795695795
    assert parse_event_tv("2026-11-26T12:23:15.418+0000") == pytest.approx(1795695795.418)
    assert parse_event_tv("garbage") is None
    with pytest.raises(UnsupportedDateformat):
        DateParser("%F %Ec")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.log")))
def test_every_fixture_line_parses(name: str) -> None:
    formatter = "json" if "-json-" in name else "plain" if "-plain-" in name else "default"
    fmt = "%F %T.%3q" if "F_T_3q" in name else "%b %e %T"
    parser = LineParser(DateParser(fmt, now=lambda: NOV26), formatter)
    events = [parser.parse(line, name) for line in (FIXTURES / name).read_text().splitlines()
              if keep(line.encode())]
    assert events, name
    assert all(e is not None for e in events), name
    kinds = {e.kind for e in events if e is not None}
    assert kinds & {"security", "request-failed", "contact", "endpoint", "no-extension"}
    for event in events:
        assert event is not None
        assert abs(event.at - NOV26) < 3600
        if event.kind == "security":
            assert event.fields["service"] == "PJSIP"
            assert event.fields["remoteaddress"].startswith("IPV4/UDP/203.0.113.")
        if event.kind == "request-failed":
            assert event.fields["addr"] == "203.0.113.12:5061"
            assert event.fields["reason"] == "No matching endpoint found"
            assert event.fields["method"] == "INVITE"


def test_request_failed_variants_from_the_distributor_source() -> None:
    parser = LineParser(DateParser("%F %T"), "default")
    head = "[2026-11-26 12:00:00] NOTICE[1] res_pjsip/pjsip_distributor.c: "
    tries = parser.parse(head + "Request 'REGISTER' from '<sip:100@[2001:db8::9]>' failed for "
                         "'[2001:db8::9]:5062' (callid: abc) - No matching endpoint found after "
                         "5 tries in 12.500 ms")
    assert tries is not None
    assert tries.fields["tries"] == "5"
    assert split_host_port(tries.fields["addr"]) == ("2001:db8::9", "5062")
    auth = parser.parse(head + "Request 'INVITE' from '<sip:100@x>' failed for '192.0.2.5:5060'"
                        " (callid: x) - Failed to authenticate")
    assert auth is not None
    assert auth.fields["reason"] == "Failed to authenticate"
    callid = parser.parse("[2026-11-26 12:00:00] NOTICE[1][C-0000000a] res_pjsip_session.c: "
                          " carrier: Call (UDP:203.0.113.10:5060) to extension '9' rejected "
                          "because extension not found in context 'in'.")
    assert callid is not None
    assert callid.kind == "no-extension"


def test_control_characters_never_survive() -> None:
    parser = LineParser(DateParser("%F %T"), "default")
    event = parser.parse("[2026-11-26 12:00:00] NOTICE[1] res_pjsip/pjsip_distributor.c: "
                         "Request 'INVITE' from '\x1b[2J<sip:evil\x07@x>' failed for "
                         "'192.0.2.5:5060' (callid: x) - No matching endpoint found")
    assert event is not None
    assert "\x1b" in event.text  # raw in the model, like AMI values
    assert "\x1b" not in visible(event.text)
    assert "\x07" not in visible(event.fields["from"])


def _conf(directory: Path, logger: str | None, astlogdir: str | None = None,
          etc: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["[directories]"]
    if etc:
        lines.append(f"astetcdir => {etc}")
    if astlogdir:
        lines.append(f"astlogdir => {astlogdir}")
    (directory / "asterisk.conf").write_text("\n".join(lines) + "\n")
    if logger is not None:
        (directory / "logger.conf").write_text(logger)
    return directory


def test_setup_reads_formatters_levels_and_paths(tmp_path: Path) -> None:
    etc = _conf(tmp_path / "etc", "[general]\ndateformat=%F %T\n[logfiles]\n"
                "console => notice\nsyslog.local0 => notice\n"
                "messages.log => notice,warning,verbose(3)\n"
                "security => [json]security\nfull.log => [plain]*\n"
                "/abs/other.log => error\n", astlogdir=str(tmp_path / "log"))
    setup = read_setup(etc)
    names = {c.name: c for c in setup.channels}
    assert set(names) == {"messages.log", "security", "full.log", "/abs/other.log"}
    assert names["security"].formatter == "json"
    assert names["security"].path == tmp_path / "log" / "security"
    assert names["messages.log"].verbose == 3
    assert names["full.log"].carries("security")
    assert names["full.log"].formatter == "plain"
    assert names["/abs/other.log"].path == Path("/abs/other.log")
    assert setup.dateformat == "%F %T"
    assert any("syslog" in note for note in setup.notes)


def test_chrooted_asterisk_paths_map_to_this_host(tmp_path: Path) -> None:
    here = tmp_path / "labs" / "x" / "etc"
    assert host_path("/lab/log", here, "/lab/etc") == tmp_path / "labs" / "x" / "log"
    jail = tmp_path / "jail" / "etc" / "asterisk"
    assert host_path("/var/log/asterisk", jail, "/etc/asterisk") == \
        tmp_path / "jail" / "var" / "log" / "asterisk"
    plain = Path("/etc/asterisk")
    assert host_path("/var/log/asterisk", plain, "/etc/asterisk") == Path("/var/log/asterisk")


def _line(at: float, text: str) -> str:
    stamp = datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")
    return f"[{stamp}] NOTICE[1] res_pjsip/pjsip_distributor.c: {text}\n"


def _refused(at: float, address: str, n: int) -> str:
    return _line(at, f"Request 'INVITE' from '<sip:555@{address}>' failed for '{address}:5060' "
                     f"(callid: {n}@{address}) - No matching endpoint found")


def test_rotated_copies_are_read_newest_first_until_the_window_starts(tmp_path: Path) -> None:
    log = tmp_path / "log"
    etc = _conf(tmp_path / "etc", "[general]\ndateformat=%F %T\n[logfiles]\n"
                "messages.log => notice\n", astlogdir=str(log))
    log.mkdir()
    now = NOV26
    files = {
        "messages.log": [_refused(now - 60 * i, "203.0.113.12", i) for i in range(10, 0, -1)],
        "messages.log.1": [_refused(now - 3000 - i, "203.0.113.13", i) for i in range(5, 0, -1)],
        "messages.log.2.gz": [_refused(now - 3400 - i, "203.0.113.14", i)
                              for i in range(5, 0, -1)],
        "messages.log-20261101": [_refused(now - 86400 * 20, "203.0.113.15", 1)],
    }
    for name, lines in files.items():
        data = "".join(lines).encode()
        path = log / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    os.utime(log / "messages.log.1", (now - 3000, now - 3000))
    os.utime(log / "messages.log.2.gz", (now - 3400, now - 3400))
    os.utime(log / "messages.log-20261101", (now - 86400 * 20, now - 86400 * 20))
    record = read_logs(etc, 3600, now=now)
    senders = record.senders()
    assert set(senders.by_address) == {"203.0.113.12", "203.0.113.13", "203.0.113.14"}
    assert senders.by_address["203.0.113.12"].count == 10
    assert str(log / "messages.log-20261101") not in record.files
    assert [e.at for e in record.events] == sorted(e.at for e in record.events)
    # A narrower window stops at the live file.
    narrow = read_logs(etc, 900, now=now)
    assert set(narrow.senders().by_address) == {"203.0.113.12"}


def test_huge_file_is_read_from_the_end_within_a_budget(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "BLOCK", 4096)  # many block boundaries, lines cut across them
    path = tmp_path / "messages.log"
    now = NOV26
    old = [_refused(now - 7200 - i, "198.51.100.7", i) for i in range(20000, 0, -1)]
    recent = [_refused(now - 100 + i / 100, "203.0.113.12", i) for i in range(300)]
    path.write_text("".join(old + recent))
    parser = LineParser(DateParser("%F %T"), "default")
    started = time.perf_counter()
    read = tail.read_window(path, now - 3600, parser.time_of, keep)
    assert time.perf_counter() - started < 5
    assert len(read.lines) == 300
    assert read.bytes_read < path.stat().st_size / 10  # stopped near the window's start
    bounded = tail.read_window(path, now - 86400, parser.time_of, keep, budget=64 * 1024)
    assert bounded.bytes_read <= 64 * 1024
    assert any("64 KB" in gap or "last" in gap for gap in bounded.gaps)


def test_senders_prefer_the_security_log_and_merge_with_live(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    for name in ("22.10-security-F_T_3q.log", "22.10-messages-F_T_3q.log"):
        (log / name.split("-")[1].replace(".log", "") ).with_suffix(".log").write_text(
            (FIXTURES / name).read_text())
    etc = _conf(tmp_path / "etc", "[general]\ndateformat = %F %T.%3q\n[logfiles]\n"
                "messages.log => notice,verbose(3)\nsecurity.log => security\n",
                astlogdir=str(log))
    record = read_logs(etc, 3600, now=NOV26)
    assert record.security_logged
    assert record.notice_logged
    past = record.senders()
    sender = past.by_address["203.0.113.12"]
    assert sender.accounts == ["15557770000"]
    assert sender.count == len({e.fields["sessionid"] for e in record.of_kind("security")
                                if "203.0.113.12" in e.fields["remoteaddress"]})
    live = SenderLog()
    merge_senders(live, past)
    assert live.by_address["203.0.113.12"].count == sender.count
    assert record.about("203.0.113.12")
    assert not [f for f in log_findings(record) if f.code.endswith("log-off")]


def test_logging_off_says_which_line_and_the_change_adds_it(tmp_path: Path) -> None:
    etc = _conf(tmp_path / "etc", "[general]\n\n[logfiles]\nconsole => notice,warning\n"
                "messages.log => notice,warning,error ; keep\n")
    record = read_logs(etc, 3600, log_dir=tmp_path)
    codes = {f.code: f for f in log_findings(record)}
    assert "security.log => security" in codes["asterisk-security-log-off"].fix
    assert "asterisk-notice-log-off" not in codes
    changeset = plan_logging(etc)
    diff = changeset.diff()
    assert "+security.log => security" in diff
    assert changeset.reloads == ["logger"]
    assert (etc / "logger.conf").read_text().count("security") == 0  # nothing written yet
    (etc / "logger.conf").write_bytes(changeset.changes[0].after)
    with pytest.raises(OperatorError):
        plan_logging(etc)


def test_no_logger_conf_creates_one(tmp_path: Path) -> None:
    etc = _conf(tmp_path / "etc", None)
    changeset = plan_logging(etc)
    text = changeset.changes[0].after.decode()
    assert "[logfiles]" in text
    assert "security.log => security" in text
    assert "messages.log => notice,warning,error" in text
    assert not changeset.changes[0].before.exists
