"""The AMI wire layer against a fake server (byte-level faults only; see fake_ami.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.fake_ami import FakeAmi
from trunkconsole.ami import connection as connection_module
from trunkconsole.ami.connection import AmiConnection, State, Status
from trunkconsole.ami.message import AmiMessage
from trunkconsole.settings import AmiTarget, Secret

NAME = "Renée 日本".encode()


def _target(port: int) -> AmiTarget:
    return AmiTarget(host="127.0.0.1", port=port, username="tc", secret=Secret("s3cret"),
                     secret_source="test")


async def _until(predicate: object, timeout: float = 3.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def _connected(fake: FakeAmi, received: list[AmiMessage],
                     statuses: list[Status] | None = None) -> AmiConnection:
    conn = AmiConnection(_target(fake.port), on_message=received.append,
                         on_status=(statuses.append if statuses is not None else lambda _s: None),
                         backoff=(0.05,))
    conn.start()
    await _until(lambda: conn.connected)
    return conn


async def test_utf8_character_split_across_reads_arrives_intact() -> None:
    """Fake server needed: a real Asterisk cannot be made to split a character on demand."""
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn = await _connected(fake, received)
        split = NAME.index("é".encode()) + 1  # between the two bytes of é
        event = b"Event: Newstate\r\nPrivilege: call,all\r\nCallerIDName: " + NAME
        await fake.send_in_pieces(event[: len(event) - len(NAME) + split],
                                  event[len(event) - len(NAME) + split:] + b"\r\n\r\n")
        await _until(lambda: any(m.event == "Newstate" for m in received))
        await conn.close()
    newstate = next(m for m in received if m.event == "Newstate")
    assert newstate.get("calleridname") == "Renée 日本"


async def test_half_written_message_waits_for_its_end() -> None:
    """Fake server needed: the message is cut mid-header and finished later."""
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn = await _connected(fake, received)
        await fake.send_in_pieces(b"Event: Hangup\r\nUniqueid: 17.1\r\nCau",
                                  b"se: 21\r\nCause-txt: Call Rejected\r\nTechCause: ",
                                  b"\r\n\r\n", pause=0.2)
        await _until(lambda: any(m.event == "Hangup" for m in received))
        assert conn.connected
        await conn.close()
    hangup = [m for m in received if m.event == "Hangup"]
    assert len(hangup) == 1
    assert hangup[0].fields["cause"] == "21"
    assert hangup[0].fields["cause-txt"] == "Call Rejected"
    assert hangup[0].fields["techcause"] == ""  # empty last header kept (panoramisk drops it)


async def test_failing_handler_never_drops_the_connection() -> None:
    seen: list[str] = []

    def explode(message: AmiMessage) -> None:
        seen.append(message.event)
        if message.event == "Boom":
            raise RuntimeError("handler bug")

    async with FakeAmi().running() as fake:
        conn = AmiConnection(_target(fake.port), on_message=explode, backoff=(0.05,))
        conn.start()
        await _until(lambda: conn.connected)
        await fake.send_in_pieces(b"Event: Boom\r\n\r\n", b"Event: After\r\n\r\n")
        await _until(lambda: "After" in seen)
        assert conn.connected
        reply = await conn.action({"Action": "CoreSettings"})
        assert not isinstance(reply, list)
        assert reply.success
        await conn.close()
    assert len(fake.actions) >= 2  # Login and CoreSettings on the same connection


async def test_stalled_socket_is_noticed_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake server needed: it stops answering Ping while keeping the TCP connection open."""
    monkeypatch.setattr(connection_module, "PING_INTERVAL", 0.1)
    monkeypatch.setattr(connection_module, "CONNECT_TIMEOUT", 0.3)
    statuses: list[Status] = []
    async with FakeAmi(answer_ping=False).running() as fake:
        conn = await _connected(fake, [], statuses)
        await _until(lambda: statuses[-1].state is State.RECONNECTING)
        await conn.close()
    assert statuses[-1].state is State.CLOSED


async def test_repeated_headers_are_lists_and_secrets_never_arrive() -> None:
    received: list[AmiMessage] = []
    async with FakeAmi().running() as fake:
        conn = await _connected(fake, received)
        await fake.send_in_pieces(
            b"Event: AuthDetail\r\nObjectName: prov-auth\r\nUsername: 12345\r\n"
            b"Password: hunter2\r\nMd5Cred: abc\r\nEndpointName: prov\r\n\r\n"
            b"Event: EndpointList\r\nObjectName: x\r\nContacts: a/sip:1.2.3.4,\r\n\r\n")
        await _until(lambda: any(m.event == "EndpointList" for m in received))
        await conn.close()
    auth = next(m for m in received if m.event == "AuthDetail")
    assert "password" not in auth.fields
    assert "md5cred" not in auth.fields
    assert "hunter2" not in repr(auth)
    endpoint_list = next(m for m in received if m.event == "EndpointList")
    assert endpoint_list.values("contacts") == ["a/sip:1.2.3.4,"]
    assert endpoint_list.lists["contacts"] == ["a/sip:1.2.3.4,"]
