"""A real Asterisk's RTCP events are read in batches while nothing awaits a reply, and
none is lost (ami/batching.py)."""

from __future__ import annotations

from tests.lab.live_helpers import eventually, live
from trunkconsole.ami.live import EVENT_BATCH_SECONDS
from trunkconsole.ami.message import AmiMessage
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab


async def test_rtcp_of_standing_calls_read_in_batches(lab: Lab, in_pbx_netns: Lab) -> None:
    assert EVENT_BATCH_SECONDS > 0  # the console and `watch` batch (LiveSession's default)
    lab.call_in_background(CallSpec(did="15551230002", count=10, rate=10, duration=25,
                                    echo=True))
    try:
        async with live(lab, poll=60.0) as session:
            protocol = session.connection._protocol
            assert isinstance(protocol, TrunkAmiProtocol)
            assert protocol.batcher is not None
            await eventually(lambda: len(session.state.quality.calls) == 10, timeout=20,
                             what="RTCP from the 10 calls")
            reads: list[int] = []
            reports: list[AmiMessage] = []
            original, listener = protocol.data_received, protocol.listener
            assert listener is not None

            def counted(data: bytes) -> None:
                reads.append(len(data))
                original(data)

            def counting(message: AmiMessage) -> None:
                if message.event == "RTCPSent":
                    reports.append(message)
                listener(message)

            protocol.data_received = counted  # type: ignore[method-assign]
            protocol.listener = counting
            # Ten calls make two reports a second: a 2 s batch shows the batching plainly
            # (the console's 0.25 s pays off at the hundreds a second of a busy PBX).
            protocol.batch_events(2.0)
            before = sum(q.sent_reports for q in session.state.quality.calls.values())
            await eventually(lambda: len(reports) >= 30, timeout=30, what="30 RTCP reports")
            after = sum(q.sent_reports for q in session.state.quality.calls.values())
            assert after - before == len(reports)  # every one reached the model
            # One report per call each 5 s (Asterisk's rtcpinterval): about four a read.
            assert len(reads) <= len(reports) / 2, (len(reads), len(reports))
            # An action still gets its reply at once (a 2 s batch would not bring it in
            # time for this 1 s timeout), and the batching resumes after it.
            reply = await session.connection.action({"Action": "CoreStatus"}, timeout=1.0)
            assert not isinstance(reply, list)
            assert reply.success
            await eventually(lambda: protocol.batcher is not None and protocol.batcher.holding,
                             what="held again once the reply was read")
    finally:
        lab.stop_background_calls()
