"""The journal after an AMI resync: the listing is the truth.

A contact can leave Asterisk with a `ContactStatus: Removed` (a reload that changes the
AOR's `contact=`, seen from Asterisk 22.10 in the lab), which the recorder used to skip, or
without any event (it went while AMI was away: the next listing no longer names it). Before
`contact-removed` existed, the journal kept such a contact Reachable for ever, and the
history then showed the trunk up through the next outage of its real contact.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from trunkconsole.ami.message import AmiMessage
from trunkconsole.journal.history import build_history
from trunkconsole.journal.recorder import Recorder
from trunkconsole.journal.writer import JournalWriter
from trunkconsole.model.state import PbxState

T0 = 1_800_000_000.0
OLD = "sip:203.0.113.10:5060"
NEW = "sip:203.0.113.10"


class Rig:
    def __init__(self, path: Path) -> None:
        self.clock = [T0]
        self.state = PbxState(clock=lambda: self.clock[0])
        self.writer = JournalWriter(path, flush_every=0.05)
        self.writer.start()
        self.recorder = Recorder(self.state, self.writer, clock=lambda: self.clock[0])
        self.path = path

    def feed(self, **fields: str) -> None:
        message = AmiMessage({k.lower(): v for k, v in fields.items()})
        self.recorder.before(message)
        self.state.apply(message)
        self.recorder.message(message)

    def status(self, uri: str, status: str, rtt: str = "0") -> None:
        self.feed(Event="ContactStatus", AOR="carrier", URI=uri, EndpointName="carrier",
                  ContactStatus=status, RoundtripUsec=rtt)

    def listing(self, *uris: str) -> None:
        """A complete endpoint listing naming these contacts, then the reconcile."""
        self.state.begin_sync("endpoints")
        self.feed(Event="EndpointList", ObjectName="carrier", Aor="carrier", Transport="udp",
                  Contacts=",".join(f"carrier/{u}" for u in uris))
        self.state.end_sync("endpoints")
        self.recorder.reconcile()

    def events(self) -> list[tuple[str, str, dict[str, object]]]:
        self.writer.flush_now()
        db = sqlite3.connect(self.path)
        rows = db.execute("SELECT kind, subject, detail FROM events ORDER BY id").fetchall()
        db.close()
        return [(k, s, json.loads(d)) for k, s, d in rows]


def test_a_contact_dropped_by_the_listing_no_longer_hides_an_outage(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "j.sqlite")
    rig.listing(OLD)
    rig.status(OLD, "Reachable", "9000")
    rig.clock[0] += 600
    # A reload changed contact= (same carrier, URI without the port): the listing after
    # it names only the new contact; no event said the old one went.
    rig.listing(NEW)
    rig.status(NEW, "NonQualified")
    rig.status(NEW, "Reachable", "8000")
    rig.clock[0] += 600
    rig.status(NEW, "Unreachable")
    rig.clock[0] += 600
    removed = [e for e in rig.events() if e[0] == "contact-removed"]
    assert [(s, d["previous"]) for _k, s, d in removed] == [(OLD, "Reachable")]
    rig.writer.close()
    carrier = build_history(rig.path, 7200, now=rig.clock[0]).trunks["carrier"]
    assert carrier.outages
    assert carrier.outages[-1][1] is None, carrier.outages  # down now
    assert carrier.flaps == 1  # NEW: Reachable -> Unreachable; the removal is no flap


def test_contact_status_removed_is_journaled_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "j.sqlite")
    rig.listing(OLD)
    rig.status(OLD, "Reachable", "9000")
    rig.status(OLD, "Removed")
    rig.listing(NEW)  # the reconcile finds nothing more to remove
    kinds = [(k, s) for k, s, _d in rig.events()]
    assert kinds.count(("contact-removed", OLD)) == 1
    rig.writer.close()


def test_reconcile_writes_a_status_the_recorder_missed_and_nothing_else(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "j.sqlite")
    rig.listing(OLD)
    rig.status(OLD, "Unreachable")
    rig.listing(OLD)
    assert [k for k, _s, _d in rig.events()] == ["contact-unreachable"]  # no duplicate
    # The recovery reached the model but not the recorder (a listener that raised is
    # logged and skipped by the protocol): the next complete resync writes it.
    rig.state.apply(AmiMessage({"event": "ContactStatus", "aor": "carrier", "uri": OLD,
                                "endpointname": "carrier", "contactstatus": "Reachable",
                                "roundtripusec": "7000"}))
    rig.clock[0] += 30
    rig.listing(OLD)
    last = rig.events()[-1]
    assert last[0] == "contact-reachable"
    assert last[2]["previous"] == "Unreachable"
    assert last[2]["seen"] == "listing after AMI resync"
    rig.writer.close()
    carrier = build_history(rig.path, 3600, now=rig.clock[0] + 60).trunks["carrier"]
    assert carrier.outages == [(T0, T0 + 30)]


def test_removed_before_the_window_is_not_counted_up(tmp_path: Path) -> None:
    """The state before the window comes from samples an hour back: a contact removed
    after its last sample no longer makes the trunk up at the window's start."""
    rig = Rig(tmp_path / "j.sqlite")
    rig.listing(OLD, NEW)
    rig.status(OLD, "Reachable", "9000")
    rig.status(NEW, "Unreachable")
    rig.clock[0] += 60
    rig.listing(NEW)  # OLD removed; NEW still unreachable
    for _minute in range(20):  # the poller's reads: a sample a minute
        rig.clock[0] += 60
        rig.status(NEW, "Unreachable")
    rig.writer.close()
    carrier = build_history(rig.path, 600, now=rig.clock[0]).trunks["carrier"]
    known = [a for a in carrier.availability if a is not None]
    assert known
    assert max(known) == 0.0


def test_only_trunk_calls_are_journaled_and_counted(tmp_path: Path) -> None:
    """An outbound call has a phone leg and a trunk leg: only the trunk's is a trunk call
    (a phone's name as a history 'trunk' or a metrics label would grow with the PBX)."""
    rig = Rig(tmp_path / "j.sqlite")
    counted: list[tuple[str, str]] = []
    rig.recorder.on_call = lambda trunk, klass: counted.append((trunk, klass))
    rig.listing(OLD)
    rig.feed(Event="IdentifyDetail", ObjectName="carrier", Endpoint="carrier",
             Match="203.0.113.10/255.255.255.255")
    rig.feed(Event="EndpointList", ObjectName="1001", Aor="1001", Auths="1001",
             Transport="udp")
    for uid, channel in (("1.1", "PJSIP/1001-00000001"), ("1.2", "PJSIP/carrier-00000002")):
        rig.feed(Event="Newchannel", Uniqueid=uid, Channel=channel, ChannelState="4",
                 Exten="15551230001")
    for uid, channel in (("1.1", "PJSIP/1001-00000001"), ("1.2", "PJSIP/carrier-00000002")):
        rig.feed(Event="Hangup", Uniqueid=uid, Channel=channel, Cause="16",
                 **{"Cause-txt": "Normal Clearing"})
    rig.writer.flush_now()
    db = sqlite3.connect(rig.path)
    trunks = [r[0] for r in db.execute("SELECT trunk FROM calls")]
    db.close()
    rig.writer.close()
    assert trunks == ["carrier"]
    assert counted == [("carrier", "normal")]
    assert list(build_history(rig.path, 3600, now=rig.clock[0] + 1).trunks) == ["carrier"]


def test_retention_defaults_and_the_writer_applies_it_by_itself(tmp_path: Path) -> None:
    """30 days / 200 MB unless told (watch's flags and the writer agree); the writer thread
    applies it on its own schedule, not only when asked."""
    import time

    from trunkconsole.cli.main import build_parser
    from trunkconsole.journal.writer import Retention

    args = build_parser().parse_args(["watch"])
    assert (args.retention_days, args.max_size_mb) == (30.0, 200.0)
    assert Retention().max_age == args.retention_days * 86400
    assert Retention().max_bytes == args.max_size_mb * 1024 * 1024
    now = time.time()
    writer = JournalWriter(tmp_path / "j.sqlite", flush_every=0.05,
                           retention=Retention(max_age=3600, every=0.2))
    writer.start()
    writer.event(now - 31 * 86400, "old", "a month ago")
    writer.event(now - 60, "new", "a minute ago")
    deadline = time.monotonic() + 10
    kinds: list[str] = []
    while time.monotonic() < deadline:
        time.sleep(0.3)
        db = sqlite3.connect(f"file:{tmp_path / 'j.sqlite'}?mode=ro", uri=True)
        kinds = [r[0] for r in db.execute("SELECT kind FROM events")]
        db.close()
        if kinds == ["new"]:
            break
    writer.close()
    assert kinds == ["new"]
    assert writer.health.deleted_by_retention == 1


def test_phone_contacts_stay_out_of_the_journal(tmp_path: Path) -> None:
    """A registered, qualified phone is not a trunk: no contact events, no samples."""
    rig = Rig(tmp_path / "j.sqlite")
    rig.listing(OLD)
    rig.feed(Event="EndpointList", ObjectName="1001", Aor="1001", Auths="1001",
             Transport="udp", Contacts="1001/sip:1001@192.0.2.50:5062")
    rig.feed(Event="ContactStatus", AOR="1001", URI="sip:1001@192.0.2.50:5062",
             EndpointName="1001", ContactStatus="Reachable", RoundtripUsec="3000")
    rig.status(OLD, "Reachable", "9000")
    rig.recorder.reconcile()
    rig.writer.flush_now()
    db = sqlite3.connect(rig.path)
    trunks = {r[0] for r in db.execute("SELECT trunk FROM events UNION SELECT trunk "
                                       "FROM samples")}
    db.close()
    rig.writer.close()
    assert trunks == {"carrier"}


def test_a_retry_that_fails_the_same_way_is_written_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "j.sqlite")
    refused = "nothing listens on 127.0.0.1:5038"
    for state, reason in [("connected", ""), ("reconnecting", "connection lost")] + [
            ("reconnecting", refused)] * 50 + [("connected", ""),
                                               ("reconnecting", "connection lost")]:
        rig.recorder.connection(state, reason)
    texts = [d for k, _s, d in rig.events() if k.startswith("ami-")]
    rig.writer.close()
    assert len(texts) == 5
