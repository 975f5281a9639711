"""The journal: writer batches and retention, history from rows, sd_notify, metrics text."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from trunkconsole.ami.message import AmiMessage
from trunkconsole.errors import OperatorError
from trunkconsole.journal.history import build_history, render_text, spark
from trunkconsole.journal.recorder import Recorder
from trunkconsole.journal.sdnotify import notify
from trunkconsole.journal.view import WatchView
from trunkconsole.journal.writer import JournalWriter, Retention
from trunkconsole.metrics.exporter import parse_address, render
from trunkconsole.model.causes import CLASSES, cause_class
from trunkconsole.model.state import PbxState

T0 = 1_800_000_000.0


def _writer(path: Path, **kw: object) -> JournalWriter:
    writer = JournalWriter(path, flush_every=0.05, **kw)  # type: ignore[arg-type]
    writer.start()
    return writer


def test_rows_are_committed_and_readable_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    writer = _writer(path)
    for i in range(500):
        writer.event(T0 + i, "test", f"row {i}")
    writer.flush_now()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 500
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer.close()
    assert writer.health.rows_written == 500
    assert writer.health.ok


def test_retention_by_age_and_by_size(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    now = time.time()
    writer = _writer(path, retention=Retention(max_age=3600, max_bytes=400_000, every=1e9))
    for i in range(200):
        writer.event(now - 7200 + i, "old", "x")
    for i in range(20000):
        writer.event(now - 1000 + i * 0.01, "new", "y" * 60)
    writer.flush_now()
    assert path.stat().st_size + Path(f"{path}-wal").stat().st_size > 400_000
    writer.retain_now()
    db = sqlite3.connect(path)
    kinds = dict(db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    assert "old" not in kinds
    assert 0 < kinds["new"] < 20000
    newest = db.execute("SELECT max(at) FROM events").fetchone()[0]
    assert newest == pytest.approx(now - 1000 + 19999 * 0.01)  # the oldest went first
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    writer.close()
    db = sqlite3.connect(path)
    pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0]
                         for p in ("page_count", "freelist_count", "page_size"))
    db.close()
    assert (pages - free) * size <= 400_000


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j.sqlite")
    with pytest.raises(ValueError, match="no journal table"):
        writer.add("nope", ())


def _feed(state: PbxState, recorder: Recorder, **fields: str) -> None:
    message = AmiMessage({k.lower(): v for k, v in fields.items()})
    recorder.before(message)
    state.apply(message)
    recorder.message(message)


def test_recorder_and_history_tell_the_story(tmp_path: Path) -> None:
    """03:12 unreachable, refused INVITEs, identify add, calls resume: in order."""
    clock = [T0]
    state = PbxState(clock=lambda: clock[0])
    path = tmp_path / "j.sqlite"
    writer = _writer(path)
    recorder = Recorder(state, writer, clock=lambda: clock[0])
    _feed(state, recorder, Event="EndpointList", ObjectName="carrier", Aor="carrier",
          Transport="udp")
    _feed(state, recorder, Event="IdentifyDetail", ObjectName="carrier", Endpoint="carrier",
          Match="203.0.113.10/255.255.255.255")
    contact = {"Event": "ContactStatus", "AOR": "carrier", "URI": "sip:203.0.113.10:5060",
               "EndpointName": "carrier"}
    _feed(state, recorder, **contact, ContactStatus="Reachable", RoundtripUsec="12000")
    clock[0] += 600
    _feed(state, recorder, **contact, ContactStatus="Unreachable", RoundtripUsec="0")
    for n in range(41):
        clock[0] += 30
        _feed(state, recorder, Event="InvalidAccountID", Service="PJSIP",
              AccountID="15557770000", SessionID=f"{n}@x",
              RemoteAddress="IPV4/UDP/203.0.113.12/5060")
        recorder.tick()
    recorder.finding(clock[0] - 600, True, "provider-ip-changed", "carrier", "moved",
                     "critical", "carrier", "203.0.113.12")
    clock[0] += 60
    recorder.change_applied(clock[0], {"change": "identify add 203.0.113.12 to carrier",
                                       "user": "root"})
    clock[0] += 60
    _feed(state, recorder, Event="Newchannel", Uniqueid="1.1", Channel="PJSIP/carrier-01",
          ChannelState="4", Exten="15551230001")
    clock[0] += 30
    _feed(state, recorder, Event="Hangup", Uniqueid="1.1", Channel="PJSIP/carrier-01",
          Cause="16", **{"Cause-txt": "Normal Clearing"})
    _feed(state, recorder, **contact, ContactStatus="Reachable", RoundtripUsec="15000")
    recorder.flush_senders(clock[0])
    writer.close()
    history = build_history(path, 86400, now=clock[0] + 10)
    kinds = [i.kind for i in history.items]
    assert kinds.index("contact-unreachable") < kinds.index("senders") < \
        kinds.index("change-applied") < kinds.index("calls-resume")
    refused = next(i for i in history.items if i.kind == "senders")
    assert refused.evidence["count"] == 41
    assert refused.trunk == "carrier"
    assert refused.end is not None
    assert refused.end - refused.at >= 1000
    assert "41 requests from 203.0.113.12 refused" in refused.text
    carrier = history.trunks["carrier"]
    assert carrier.flaps == 2
    assert carrier.outages[0][1] is not None
    known = [a for a in carrier.availability if a is not None]
    assert known
    assert min(known) < 1.0
    assert sum(carrier.calls) == 1
    text = render_text(history)
    assert "identify add 203.0.113.12 to carrier by root" in text
    assert "calls resume on carrier" in text
    only = build_history(path, 86400, now=clock[0] + 10, trunk="nobody")
    assert all(i.trunk in ("nobody", "") for i in only.items)


def test_history_without_a_journal_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="trunkconsole watch"):
        build_history(tmp_path / "none.sqlite", 3600)


def test_spark_draws_unknown_and_levels() -> None:
    assert spark([None, 0.0, 0.5, 1.0], 1.0) == "·▁▄█"


def test_cause_classes_are_a_fixed_set() -> None:
    assert cause_class(16) == "normal"
    assert cause_class(21) == "rejected"
    assert cause_class(0, 403) == "rejected"
    assert cause_class(58) == "media"
    assert {cause_class(c) for c in range(256)} <= set(CLASSES)


def test_sd_notify_sends_one_datagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        assert notify("READY=1\nSTATUS=watching")
        assert server.recv(100) == b"READY=1\nSTATUS=watching"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify("READY=1")


def test_sd_notify_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"trunkconsole-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("READY=1")
        assert server.recv(100) == b"READY=1"


def test_metrics_text_is_valid_and_bounded() -> None:
    state = PbxState()
    for message in (
        {"event": "EndpointList", "objectname": "carrier", "aor": "carrier",
         "transport": "udp"},
        {"event": "IdentifyDetail", "objectname": "carrier", "endpoint": "carrier",
         "match": "203.0.113.10/255.255.255.255"},
        {"event": "ContactStatus", "aor": "carrier", "uri": "sip:203.0.113.10",
         "endpointname": "carrier", "contactstatus": "Reachable", "roundtripusec": "2500"},
        {"event": "InvalidAccountID", "service": "PJSIP", "accountid": "evil\"}",
         "sessionid": "1", "remoteaddress": "IPV4/UDP/198.51.100.66/5060"},
    ):
        state.apply(AmiMessage(message))
    from trunkconsole.journal.writer import Health

    view = WatchView(state=state, health=Health())
    view.calls[("carrier", "normal")] = 3
    text = render(view).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    reachable = families["trunkconsole_trunk_reachable"].samples
    assert [(s.labels, s.value) for s in reachable] == [({"trunk": "carrier"}, 1.0)]
    assert families["trunkconsole_trunk_qualify_rtt_seconds"].samples[0].value == 0.0025
    assert families["trunkconsole_unknown_senders"].samples[0].value == 1
    assert "198.51.100.66" not in text
    assert "evil" not in text
    calls = families["trunkconsole_trunk_calls"].samples
    assert any(s.labels == {"trunk": "carrier", "cause_class": "normal"} and s.value == 3
               for s in calls)


def test_metrics_address() -> None:
    assert parse_address("127.0.0.1:9595") == ("127.0.0.1", 9595)
    assert parse_address("[::1]:9595") == ("::1", 9595)
    assert parse_address(":9595") == ("0.0.0.0", 9595)
    for bad in ("9595", "host:", "host:99999", "a:b"):
        with pytest.raises(ValueError, match="address"):
            parse_address(bad)


def test_bundle_redaction_catches_secrets_anywhere() -> None:
    from trunkconsole.bundle.collect import REDACTED, Bundle

    bundle = Bundle(secrets={"s3cret-ami-value", "pw", "auth-pass-123"})
    bundle.add("a.txt", "Login secret=s3cret-ami-value; again s3cret-ami-value")
    bundle.add("b.log", "INVITE ... Authorization: auth-pass-123\npw stays (too short)")
    assert bundle.redact() == 3
    assert "s3cret" not in bundle.members["a.txt"]
    assert REDACTED in bundle.members["b.log"]
    assert "auth-pass-123" not in bundle.members["b.log"]


def test_fast_exposition_matches_prometheus_client_byte_for_byte() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from trunkconsole.metrics.collector import WatchCollector
    from trunkconsole.metrics.text import exposition

    state = PbxState()
    for fields in (
        {"event": "EndpointList", "objectname": 'we"ird\\name', "aor": "a", "transport": "u"},
        {"event": "IdentifyDetail", "objectname": "i", "endpoint": 'we"ird\\name',
         "match": "192.0.2.1/255.255.255.255"},
        {"event": "ContactStatus", "aor": "a", "uri": "sip:192.0.2.1", "endpointname":
         'we"ird\\name', "contactstatus": "Reachable", "roundtripusec": "1234567"},
    ):
        state.apply(AmiMessage(fields))
    from trunkconsole.journal.writer import Health

    view = WatchView(state=state, health=Health(last_commit=1795696891.9513316,
                                                size_bytes=123456789))
    view.calls[('we"ird\\name', "rejected")] = 7
    registry = CollectorRegistry(auto_describe=False)
    collector = WatchCollector(view)
    registry.register(collector)
    assert exposition(collector.collect()) == generate_latest(registry)


@pytest.mark.parametrize("value", [0.0, 1.0, -2.5, 0.00076, 1234567.0, 123456789.0,
                                   1795696891.9513316, 1e-9, float("inf"), float("-inf"),
                                   float("nan"), 5e22])
def test_go_float_is_prometheus_clients(value: float) -> None:
    from prometheus_client.utils import floatToGoString

    from trunkconsole.metrics.text import go_float

    assert go_float(value) == floatToGoString(value)  # type: ignore[no-untyped-call]


def test_check_reads_the_journal_when_present(tmp_path: Path) -> None:
    """No AMI, no logs: the journal alone names the moved provider and the past outage."""
    from dataclasses import replace

    from trunkconsole.pjsip.check import CheckContext, CheckOptions, run_checks
    from trunkconsole.resources import sample_configs_dir

    now = time.time()
    writer = _writer(tmp_path / "journal.sqlite")
    writer.add("senders", (now - 300, now - 900, "203.0.113.12", 12, "15557770000",
                           "InvalidAccountID", ""))
    writer.event(now - 1800, "contact-unreachable", "x", trunk="carrier",
                 subject="sip:203.0.113.10:5060", detail='{"previous": "Reachable"}')
    writer.event(now - 1500, "contact-reachable", "x", trunk="carrier",
                 subject="sip:203.0.113.10:5060", detail='{"previous": "Unreachable"}')
    writer.close()
    options = CheckOptions(live=False, network=False, logs=False, since=3600.0,
                           journal=tmp_path / "journal.sqlite", journal_named=True)
    result = run_checks(CheckContext(config_dir=sample_configs_dir() / "lab", options=options))
    codes = {f.code: f for f in result.findings}
    moved = codes["provider-ip-changed"]
    assert moved.details["trunk"] == "carrier"
    assert moved.details["address"] == "203.0.113.12"
    assert "12 requests" in moved.evidence[0].text
    assert codes["trunk-was-unreachable"].domain == "journal"
    assert result.status == 2
    quiet = run_checks(CheckContext(config_dir=sample_configs_dir() / "lab",
                                    options=replace(options, journal=None)))
    assert "provider-ip-changed" not in {f.code for f in quiet.findings}


def test_textfile_output_is_atomic_and_parses(tmp_path: Path) -> None:
    from trunkconsole.journal.writer import Health
    from trunkconsole.metrics.exporter import write_textfile

    target = tmp_path / "trunkconsole.prom"
    write_textfile(WatchView(state=PbxState(), health=Health()), target)
    names = {f.name for f in text_string_to_metric_families(target.read_text())}
    assert {"trunkconsole_up", "trunkconsole_journal_ok"} <= names
    assert [p.name for p in tmp_path.iterdir()] == ["trunkconsole.prom"]


def test_watch_refuses_a_textfile_node_exporter_would_ignore(tmp_path: Path) -> None:
    from trunkconsole.cli.main import build_parser

    args = build_parser().parse_args(["watch", "--textfile", str(tmp_path / "x.txt")])
    with pytest.raises(OperatorError, match=r"\.prom"):
        args.handler(args)


def test_systemd_unit_is_valid_for_systemd(tmp_path: Path) -> None:
    """systemd-analyze verify: only the absent binary may be reported."""
    import shutil
    import subprocess

    from trunkconsole.resources import sample_configs_dir

    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed")
    unit = sample_configs_dir() / "systemd" / "trunkconsole-watch.service"
    text = unit.read_text()
    assert "Type=notify" in text
    assert "Restart=on-failure" in text
    assert "User=trunkconsole" in text
    out = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True,
                         timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
    assert problems == []


RTCP_LOSS = Path(__file__).parent.parent / "fixtures" / "rtcp-sent-packet-loss.json"


def test_call_quality_is_journaled_shown_and_exported(tmp_path: Path) -> None:
    """Four RTCPSent reports recorded in the lab's packet-loss scenario (10.2, 8.6, 7.4 and
    5.5% lost from the provider, no RTCP back), then the hangup: one call_quality row, a
    timeline line an operator reads, the trunk's media figures and the metrics."""
    import json

    from trunkconsole.journal.history import evidence_rows
    from trunkconsole.journal.writer import Health

    clock = [T0]
    state = PbxState(clock=lambda: clock[0])
    path = tmp_path / "j.sqlite"
    writer = _writer(path)
    recorder = Recorder(state, writer, clock=lambda: clock[0])
    view = WatchView(state=state, health=Health())
    seen: list[tuple[str, float | None]] = []
    recorder.on_quality = lambda trunk, q: seen.append((trunk, q.mos))
    _feed(state, recorder, Event="EndpointList", ObjectName="carrier", Aor="carrier",
          Transport="udp")
    _feed(state, recorder, Event="IdentifyDetail", ObjectName="carrier", Endpoint="carrier",
          Match="203.0.113.10/255.255.255.255")
    reports = json.loads(RTCP_LOSS.read_text())
    uid, channel = reports[0]["uniqueid"], reports[0]["channel"]
    _feed(state, recorder, Event="Newchannel", Uniqueid=uid, Channel=channel,
          ChannelState="4", Exten="15551230002", CallerIDNum="15557770000")
    for report in reports:
        clock[0] += 5
        message = AmiMessage(report)
        recorder.before(message)
        state.apply(message)
        recorder.message(message)
    live = render(view).decode()
    families = {f.name: f for f in text_string_to_metric_families(live)}
    loss = families["trunkconsole_trunk_media_loss_ratio"].samples
    assert [(s.labels, s.value) for s in loss] == [
        ({"trunk": "carrier", "direction": "from_provider"}, 0.055)]  # the last interval
    assert 3.5 < families["trunkconsole_trunk_media_mos"].samples[0].value < 4.5
    clock[0] += 2
    _feed(state, recorder, Event="Hangup", Uniqueid=uid, Channel=channel, Cause="16",
          **{"Cause-txt": "Normal Clearing"})
    writer.close()
    assert len(seen) == 1
    assert seen[0][0] == "carrier"

    db = sqlite3.connect(path)
    row = db.execute("SELECT trunk, number, inbound, rx_loss, tx_loss, worst_rx_loss, "
                     "rtcp_sent, rtcp_received, mos, worst_mos FROM call_quality").fetchall()
    db.close()
    assert len(row) == 1
    trunk, number, inbound, rx, tx, worst_rx, sent, received, mos, worst = row[0]
    assert (trunk, number, inbound, rx, tx, worst_rx, sent, received) == (
        "carrier", "15551230002", 1, 7.9, None, 10.2, 4, 0)
    assert 3.5 < mos < 3.8  # G.711 at 7.9% random loss
    assert worst < mos  # the 10.2% interval

    history = build_history(path, 3600, now=clock[0] + 10)
    item = next(i for i in history.items if i.kind == "call-quality")
    assert item.text.startswith(f"call 15551230002 on carrier: MOS {mos:.1f}, loss from "
                                "provider 7.9%, no RTCP from the provider")
    assert f"worst interval MOS {worst:.1f}, loss 10.2%" in item.text
    assert item.trunk == "carrier"
    assert evidence_rows(path, item.evidence)[0].startswith("call_quality #1 ")
    media = history.trunks["carrier"].media
    assert media is not None
    assert (media.calls, media.poor, media.rx_loss_mean) == (1, 1, 7.9)
    text = render_text(history)
    assert "call 15551230002 on carrier: MOS" in text
    assert "media        1 calls with RTCP" in text
    assert build_history(path, 3600, now=clock[0] + 10, trunk="other").trunks[
        "other"].media is None


def test_media_metrics_after_calls_end() -> None:
    from trunkconsole.journal.writer import Health

    state = PbxState()
    state.apply(AmiMessage({"event": "EndpointList", "objectname": "carrier",
                            "aor": "carrier", "transport": "udp"}))
    view = WatchView(state=state, health=Health())
    view.media["carrier"] = [3.0, 1.0, 12.1]
    families = {f.name: f for f in text_string_to_metric_families(render(view).decode())}
    assert families["trunkconsole_trunk_media_calls"].samples[0].value == 3
    assert families["trunkconsole_trunk_media_poor_calls"].samples[0].value == 1
    assert families["trunkconsole_trunk_media_mos_sum"].samples[0].value == pytest.approx(12.1)
    assert families["trunkconsole_trunk_media_loss_ratio"].samples == []


def test_a_journal_from_before_call_quality_is_still_read(tmp_path: Path) -> None:
    """`watch` of an older release wrote no call_quality table: history and check read the
    journal as it is (the table reads empty, the file is not touched) until the new
    `watch` starts and adds it."""
    path = tmp_path / "j.sqlite"
    writer = _writer(path)
    writer.close()
    with sqlite3.connect(path) as db:  # the journal as the first release left it
        db.execute("DROP TABLE call_quality")
    before = path.read_bytes()
    history = build_history(path, 86400, now=T0)
    assert history.items == []
    assert path.read_bytes() == before
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        assert "call_quality" not in {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    _writer(path).close()
    with sqlite3.connect(path) as db:
        assert "call_quality" in {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
