"""488 explained and DID headers, from real INVITEs the lab carrier sent (history fixture)."""

from __future__ import annotations

import pytest

from trunkconsole.calls.ladder import did_numbers, group_calls
from trunkconsole.calls.negotiation import explain_488
from trunkconsole.calls.sdp import parse_sdp

from .history_fixture import load_history


def test_g729_only_offer_against_ulaw_alaw() -> None:
    offer = group_calls(load_history("lab-variants.json"))[0].invite
    assert offer is not None
    why = explain_488(offer.sdp, ["ulaw", "alaw"], "no")
    assert why.lines[0] == "the provider offers g729 over RTP/AVP"
    assert "no codec in common" in why.lines
    assert (why.option, why.value) == ("allow", "ulaw,alaw,g729")


def test_srtp_offer_against_plain_endpoint() -> None:
    offer = group_calls(load_history("lab-variants.json"))[1].invite
    assert offer is not None
    assert offer.sdp is not None
    audio = offer.sdp.audio
    assert audio is not None
    assert audio.proto == "RTP/SAVP"
    assert audio.crypto == ("AES_CM_128_HMAC_SHA1_80",)
    why = explain_488(offer.sdp, ["ulaw", "alaw"], "no")
    assert "SRTP only" in why.lines[-1]
    assert (why.option, why.value) == ("media_encryption", "sdes")
    # The same offer to an SRTP endpoint is not a transport mismatch.
    assert explain_488(offer.sdp, ["ulaw"], "sdes").option == ""


@pytest.mark.parametrize(("encryption", "optimistic", "option"), [
    ("sdes", False, "media_encryption"), ("dtls", False, "media_encryption"),
    ("sdes", True, ""), ("no", False, ""),
])
def test_plain_offer_against_srtp_endpoint(encryption: str, optimistic: bool,
                                           option: str) -> None:
    accepted = group_calls(load_history("lab-variants.json"))[3].invite
    assert accepted is not None
    assert explain_488(accepted.sdp, ["alaw"], encryption, optimistic).option == option


def test_common_codec_means_no_codec_fix() -> None:
    accepted = group_calls(load_history("lab-variants.json"))[3].invite
    assert accepted is not None
    why = explain_488(accepted.sdp, ["alaw"], "no")
    assert why.lines[0] == "the provider offers alaw, ulaw, g729 over RTP/AVP"
    assert why.option == ""
    assert explain_488(None, ["alaw"], "no").lines == [
        "the INVITE carried no audio offer (no SDP, or no m=audio)"]
    assert explain_488(parse_sdp("v=0\ns=-\n"), ["alaw"], "no").option == ""


def test_pilot_with_did_in_p_called_party_id() -> None:
    pilot = group_calls(load_history("lab-variants.json"))[2]
    assert pilot.outcome() == "404 Not Found"
    assert pilot.invite is not None
    assert did_numbers(pilot.invite.sip) == [
        ("Request-URI", "15550000000"), ("To", "15550000000"),
        ("P-Called-Party-ID", "15551230001")]
    assert pilot.matches("15551230001")
