"""The pre-flight's default caller ID: what a real outbound call through the trunk sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.calls.caller_id import default_caller_id

PJSIP = """[t]
type=endpoint
context=from-t
{extra}
"""


def configs(tmp_path: Path, extensions: str, extra: str = "") -> Path:
    (tmp_path / "pjsip.conf").write_text(PJSIP.format(extra=extra))
    (tmp_path / "extensions.conf").write_text(extensions)
    return tmp_path


@pytest.mark.parametrize(("extensions", "number"), [
    # FreePBX-style literal, Asterisk's sample style, the lab's expression with a fallback,
    # CALLERID(all) with a name, a trunk named in a global, a priority label.
    ("[out]\nexten => _X.,1,Set(CALLERID(num)=15551230000)\n"
     " same => n,Dial(PJSIP/${EXTEN}@t)\n", "15551230000"),
    ("[out]\nexten => _9X.,1,Set(CALLERID(all)=\"Office\" <+442071234567>)\n"
     " same => n,Dial(PJSIP/${EXTEN:1}@t,30)\n", "+442071234567"),
    ("[globals]\nTRUNK=t\n[out]\nexten => _X.,1,NoOp()\n"
     " same => n,Set(CALLERID(num)=${IF($[${LEN(${OUTCID})} > 0]?${OUTCID}:15551239999)})\n"
     " same => n(dial),Dial(PJSIP/${EXTEN}@${TRUNK},20)\n", "15551239999"),
    ("[out]\nexten => _X.,1,Set(CALLERID(num)=15550000001)\n"
     " same => n,Dial(PJSIP/t/sip:${EXTEN}@203.0.113.10)\n", "15550000001"),
])
def test_outbound_route_caller_id(tmp_path: Path, extensions: str, number: str) -> None:
    choice = default_caller_id(configs(tmp_path, extensions), "t")
    assert choice.number == number
    assert choice.basis.startswith("what the outbound route [out] sets before dialling t")


def test_from_user_wins_and_other_trunks_routes_do_not_count(tmp_path: Path) -> None:
    other = ("[out]\nexten => _X.,1,Set(CALLERID(num)=15551230000)\n"
             " same => n,Dial(PJSIP/${EXTEN}@other)\n"
             "exten => _0X.,1,Set(CALLERID(num)=15559999999)\n"
             " same => n,Dial(PJSIP/${EXTEN}@tt)\n")
    assert default_caller_id(configs(tmp_path, other), "t").number == ""
    choice = default_caller_id(configs(tmp_path, other, "from_user=15557654321"), "t")
    assert (choice.number, choice.basis.split(":")[0]) == ("15557654321",
                                                           "the trunk's from_user")


def test_callerid_option_then_nothing(tmp_path: Path) -> None:
    # The route sets the caller ID in another extension than the one that dials: no guess.
    split = ("[out]\nexten => 1,1,Set(CALLERID(num)=15551230000)\n"
             "exten => _X.,1,Dial(PJSIP/${EXTEN}@t)\n")
    choice = default_caller_id(configs(tmp_path, split, 'callerid="Main" <15550001000>'), "t")
    assert choice.number == "15550001000"
    assert choice.basis.startswith("the trunk's callerid option")
    none = default_caller_id(configs(tmp_path, split), "t")
    assert none.number == ""
    assert none.basis.startswith("none configured")
    # An expression with two numbers in it is not guessed either.
    two = ("[out]\nexten => _X.,1,Set(CALLERID(num)=${IF($[${X}=1]?15551230001:15551230002)})\n"
           " same => n,Dial(PJSIP/${EXTEN}@t)\n")
    assert default_caller_id(configs(tmp_path, two), "t").number == ""
