"""Parsing AMI messages and checking the values we send."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkconsole.ami.action import build_action, check_value
from trunkconsole.ami.message import AmiMessage, parse_block, parse_stream
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.errors import OperatorError


def test_empty_last_header_and_output_spacing_are_kept() -> None:
    message = parse_block("Response: Success\r\nOutput:  Identify:  carrier\r\nOutput: ")
    assert message is not None
    assert message.values("output") == [" Identify:  carrier", ""]


def test_single_repeatable_header_is_a_list() -> None:
    message = parse_block("Event: EndpointList\r\nContacts: a/sip:x,")
    assert message is not None
    assert message.values("contacts") == ["a/sip:x,"]
    assert message.lists["contacts"] == ["a/sip:x,"]


def test_unexpected_repeats_become_lists_too() -> None:
    message = parse_block("Event: TestEvent\r\nFoo: 1\r\nFoo: 2")
    assert message is not None
    assert message.get("foo") == "1"
    assert message.values("foo") == ["1", "2"]


def test_message_text_with_its_own_lf() -> None:
    stream = (b"Asterisk Call Manager/11.0.0\r\nResponse: Error\r\nActionID: 3\r\n"
              b"Message: No Contacts found\n\r\n\r\n")
    [message] = parse_stream(stream)
    assert message.get("message") == "No Contacts found"


# AuthDetail names options in CamelCase (password_digest → PasswordDigest).
@pytest.mark.parametrize("key", ["Password", "Secret", "Md5Cred", "PrivKeyPassword",
                                 "PasswordDigest", "OauthSecret", "RefreshToken"])
def test_secret_headers_are_dropped(key: str) -> None:
    message = parse_block(f"Event: AuthDetail\r\n{key}: hunter2\r\nUsername: u")
    assert message is not None
    assert "hunter2" not in repr(message)
    assert message.get("username") == "u"


@pytest.mark.parametrize("value", ["a\r\nAction: Originate", "a\nb", "a\rb", "a\x00",
                                   "x\u2028y", "\x1b[0m"])
def test_values_that_could_start_a_header_are_refused(value: str) -> None:
    with pytest.raises(OperatorError, match="refused"):
        build_action({"Action": "PJSIPShowEndpoint", "Endpoint": value})


def test_secret_value_is_not_quoted_in_the_error() -> None:
    with pytest.raises(OperatorError) as exc:
        check_value("Secret", "hunter2\r\n", secret=True)
    assert "hunter2" not in exc.value.render()


def test_plain_values_pass() -> None:
    assert build_action({"Action": "Command", "Command": "pjsip show endpoint a-b.c\t"}) == {
        "Action": "Command", "Command": "pjsip show endpoint a-b.c\t"}


RECORDED = Path(__file__).parent.parent / "fixtures" / "ami" / "lab-calls.raw"


class _Transport:
    def write(self, _data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=200))
@settings(max_examples=60, deadline=None)
def test_any_split_of_the_stream_gives_the_same_messages(cuts: list[int]) -> None:
    """However TCP cuts the recorded lab stream, the protocol sees the same messages."""
    data = RECORDED.read_bytes()
    protocol = TrunkAmiProtocol()
    protocol.connection_made(_Transport())
    seen: list[AmiMessage] = []
    protocol.listener = seen.append
    protocol.factory = None  # no panoramisk manager: only the listener matters here
    offset = 0
    for cut in cuts:
        protocol.data_received(data[offset:offset + cut])
        offset += cut
    protocol.data_received(data[offset:])
    assert seen == parse_stream(data)
    assert protocol.version == "11.0.0"
