"""488 explained, DID headers and NAT: real INVITEs the lab carrier sent (history fixture),
and hand-written NAT cases the lab cannot produce (no NAT between its namespaces)."""

from __future__ import annotations

import pytest

from trunkconsole.calls.ladder import did_numbers, group_calls
from trunkconsole.calls.nat import analyse, is_private
from trunkconsole.calls.negotiation import explain_488
from trunkconsole.calls.sdp import parse_sdp
from trunkconsole.calls.sip_history import SipMessage

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


def _invite(via_host: str, contact: str, sdp_address: str, source: str) -> SipMessage:
    text = (f"INVITE sip:15551230001@203.0.113.1 SIP/2.0\nVia: SIP/2.0/UDP {via_host}:5060;"
            f"branch=z9hG4bK1\nFrom: <sip:1@{via_host}>;tag=1\nTo: <sip:15551230001@x>\n"
            f"Call-ID: n1\nCSeq: 1 INVITE\nContact: <sip:1@{contact}:5060>\n"
            "Content-Type: application/sdp\n\nv=0\no=- 1 1 IN IP4 x\ns=-\n"
            f"c=IN IP4 {sdp_address}\nt=0 0\nm=audio 4000 RTP/AVP 0\n")
    return SipMessage(1, 1, True, source, text.splitlines()[0], text)


def test_nat_provider_behind_nat_private_contact_and_sdp() -> None:
    flow = group_calls([_invite("192.168.1.20", "192.168.1.20", "192.168.1.20",
                                "203.0.113.10:40000")])[0]
    codes = {n.code: n for n in analyse(flow)}
    assert set(codes) == {"provider-behind-nat", "provider-private-contact",
                          "provider-private-sdp"}
    assert "rtp_symmetric=yes" in codes["provider-private-sdp"].fix
    assert "rewrite_contact=yes" in codes["provider-private-contact"].fix
    assert "203.0.113.10:40000" in codes["provider-behind-nat"].text


def test_nat_alg_rewrote_the_body_but_not_the_via() -> None:
    flow = group_calls([_invite("10.1.1.1", "203.0.113.10", "203.0.113.10",
                                "203.0.113.10:5060")])[0]
    assert "alg" in {n.code for n in analyse(flow)}


def test_nat_clean_lab_calls_and_our_private_address() -> None:
    for flow in group_calls(load_history("lab-calls.json")):
        assert analyse(flow) == []  # public addresses everywhere (TEST-NET is not private)
    ours = ("INVITE sip:1@203.0.113.10 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.2:5060;rport;"
            "branch=z9hG4bK2\nCall-ID: o1\nCSeq: 1 INVITE\nContact: <sip:a@10.0.0.2:5060>\n\n"
            "v=0\ns=-\nc=IN IP4 10.0.0.2\nt=0 0\nm=audio 10000 RTP/AVP 0\n")
    reply = ("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 10.0.0.2:5060;rport=61000;"
             "received=198.51.100.9;branch=z9hG4bK2\nCall-ID: o1\nCSeq: 1 INVITE\n")
    flow = group_calls([SipMessage(1, 1, False, "203.0.113.10:5060", "INVITE", ours),
                        SipMessage(2, 1, True, "203.0.113.10:5060", "SIP/2.0 180", reply)])[0]
    codes = {n.code: n for n in analyse(flow)}
    assert set(codes) == {"our-private-address", "nat-rewrites-us"}
    assert codes["our-private-address"].text.endswith("Via 10.0.0.2, Contact 10.0.0.2, "
                                                      "SDP c= 10.0.0.2")
    assert "198.51.100.9" in codes["nat-rewrites-us"].fix
    assert not is_private("203.0.113.10")
    assert is_private("100.64.1.1")
    assert is_private("fe80::1")
