"""Unsolicited AMI events read in batches (ami/batching.py), over real loopback TCP.

The kernel's SO_RCVLOWAT behaviour is what is tested, so the sockets are real; the server
is the fake AMI because a real Asterisk cannot be made to send events at chosen moments
(the lab test tests/lab/test_ami_batching.py reads a real Asterisk's RTCP the same way).
"""

from __future__ import annotations

import asyncio
import socket

from tests.unit.fake_ami import FakeAmi
from tests.unit.test_ami_protocol import _until
from trunkconsole.ami.batching import ReadBatcher
from trunkconsole.ami.connection import AmiConnection
from trunkconsole.ami.message import AmiMessage
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.settings import AmiTarget, Secret


def _event(n: int) -> bytes:
    return (f"Event: RTCPSent\r\nPrivilege: reporting,all\r\nChannel: PJSIP/carrier-{n:08x}"
            f"\r\nUniqueid: 1700000000.{n}\r\nReport0FractionLost: 0\r\n\r\n").encode()


async def _session(fake: FakeAmi, received: list[AmiMessage],
                   batch: float) -> tuple[AmiConnection, list[int]]:
    """A logged-in connection batching events; the sizes of its TCP reads are counted."""
    target = AmiTarget(host="127.0.0.1", port=fake.port, username="tc",
                       secret=Secret("s3cret"), secret_source="test")
    conn = AmiConnection(target, on_message=received.append, backoff=(0.05,),
                         batch_seconds=batch)
    conn.start()
    await _until(lambda: conn.connected)
    protocol = conn._protocol
    assert isinstance(protocol, TrunkAmiProtocol)
    assert protocol.batcher is not None
    reads: list[int] = []
    original = protocol.data_received

    def counted(data: bytes) -> None:
        reads.append(len(data))
        original(data)

    protocol.data_received = counted  # type: ignore[method-assign]
    await _until(lambda: protocol.batcher is not None and protocol.batcher.holding)
    return conn, reads


async def test_events_sent_apart_are_read_together_in_order() -> None:
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn, reads = await _session(fake, received, batch=1.0)
        await fake.send_in_pieces(*(_event(n) for n in range(10)), pause=0.02)
        await _until(lambda: sum(m.event == "RTCPSent" for m in received) == 10, timeout=5)
        await conn.close()
    uids = [m.get("uniqueid") for m in received if m.event == "RTCPSent"]
    assert uids == [f"1700000000.{n}" for n in range(10)]
    # Ten segments 20 ms apart, one flush a second: one read, two if a flush fell inside.
    assert 1 <= len(reads) <= 2, reads


async def test_a_lone_event_waits_for_the_flush_only() -> None:
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn, reads = await _session(fake, received, batch=0.6)
        await fake.send_in_pieces(_event(1), pause=0.1)
        # Below the low-water mark the kernel does not wake the reader...
        assert not any(m.event == "RTCPSent" for m in received)
        # ...and the flush timer lets it through although nothing else comes.
        await _until(lambda: any(m.event == "RTCPSent" for m in received), timeout=5)
        await conn.close()
    assert len(reads) == 1


async def test_an_action_reads_what_waits_at_once_and_in_order() -> None:
    """With a 60 s flush, only lowering the mark for the action can bring its reply in
    time (the action times out after 10 s)."""
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn, _reads = await _session(fake, received, batch=60.0)
        await fake.send_in_pieces(_event(1), _event(2), pause=0.05)
        assert not any(m.event == "RTCPSent" for m in received)
        reply = await conn.action({"Action": "CoreStatus"})
        assert not isinstance(reply, list)
        assert reply.success
        order = [m.event or m.response for m in received]
        await conn.close()
    assert order[-3:] == ["RTCPSent", "RTCPSent", "Success"]


async def test_held_again_after_the_reply_and_the_timer_dies_with_the_connection() -> None:
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn, _reads = await _session(fake, received, batch=60.0)
        protocol = conn._protocol
        assert protocol is not None
        assert protocol.batcher is not None
        batcher = protocol.batcher
        await conn.action({"Action": "CoreStatus"})
        await _until(lambda: batcher.holding)  # nothing awaits a reply: held again
        assert batcher._timer is not None
        await conn.close()
    assert batcher._timer is None
    assert not batcher.holding


async def test_not_tcp_is_read_one_by_one() -> None:
    """A Unix socket (or anything without SO_RCVLOWAT for TCP) is read as before."""
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    transport, _protocol = await loop.connect_accepted_socket(asyncio.Protocol, left)
    try:
        batcher = ReadBatcher(transport, 0.5)
        batcher.hold()
        assert not batcher.holding
    finally:
        transport.close()
        right.close()


async def test_zero_seconds_turns_it_off() -> None:
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        target = AmiTarget(host="127.0.0.1", port=fake.port, username="tc",
                           secret=Secret("s3cret"), secret_source="test")
        conn = AmiConnection(target, on_message=received.append, backoff=(0.05,))
        conn.start()
        await _until(lambda: conn.connected)
        assert conn._protocol is not None
        assert conn._protocol.batcher is None
        await conn.close()


async def test_a_new_batch_time_while_held_leaves_nothing_stuck() -> None:
    """Replacing the batcher while the mark is raised lowers it: the old batcher's flush
    is gone, and the new one is not holding yet."""
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn, _reads = await _session(fake, received, batch=60.0)
        protocol = conn._protocol
        assert protocol is not None
        protocol.batch_events(60.0)
        await fake.send_in_pieces(_event(1), pause=0.05)
        await _until(lambda: any(m.event == "RTCPSent" for m in received), timeout=5)
        reply = await conn.action({"Action": "CoreStatus"}, timeout=5)
        assert not isinstance(reply, list)
        assert reply.success
        await conn.close()
