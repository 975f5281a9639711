"""The live model against the real lab PBX: trunk, calls, unknown senders, CLI twin."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.lab.helpers import ami_logins
from tests.lab.live_helpers import eventually, live
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.model.views import trunk_summary

UNKNOWN_SOURCE = "203.0.113.11"


async def test_provider_trunk_with_identify_and_qualify(in_pbx_netns: Lab) -> None:
    async with live(in_pbx_netns) as session:
        carrier = session.state.endpoints["carrier"]
        assert carrier.is_trunk
        assert carrier.matches == ("203.0.113.10/32",)
        await eventually(lambda: trunk_summary(session.state, carrier, time.time()).status
                         == "Reachable", what="qualify Reachable")
        summary = trunk_summary(session.state, carrier, time.time())
        assert summary.rtt_ms is not None
        assert 0 < summary.rtt_ms < 1000
        # ContactStatus fires only on change: the poller must still bring new RTT readings.
        readings = len(session.state.contacts_of(carrier)[0].rtt_history)
        await eventually(lambda: len(session.state.contacts_of(carrier)[0].rtt_history)
                         > readings, timeout=5, what="a re-polled RTT")
        assert session.problems == []


async def test_call_from_the_carrier_appears_and_disappears(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    async with live(lab) as session:
        carrier = session.state.endpoints["carrier"]
        spec = CallSpec(did="15551230001", duration=3.0, caller_name="Live Test")
        call = asyncio.create_task(asyncio.to_thread(lab.call, spec))
        await eventually(lambda: bool(carrier.channels), what="the call on the trunk")
        channel = session.state.channels_of(carrier)[0]
        assert channel.did == "15551230001"
        assert channel.caller_name == "Live Test"
        assert channel.inbound
        assert trunk_summary(session.state, carrier, time.time()).calls_now == 1
        report = await call
        assert report.answered == 1
        await eventually(lambda: not carrier.channels, what="the hangup")
        assert channel.uniqueid not in session.state.channels
        assert carrier.last_hangup is not None
        assert carrier.last_hangup.uniqueid == channel.uniqueid
        assert trunk_summary(session.state, carrier, time.time()).calls_last_hour >= 1


async def test_calls_from_an_unknown_address_show_as_unknown_sender(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    async with live(lab) as session:
        before = time.time()
        spec = CallSpec(did="15551230002", source=UNKNOWN_SOURCE, count=3, rate=5,
                        from_user="4471")
        report = await asyncio.to_thread(lab.call, spec)
        assert report.rejected == {"401": 3}  # Asterisk challenges what it cannot identify
        senders = session.state.senders.by_address
        await eventually(lambda: UNKNOWN_SOURCE in senders
                         and senders[UNKNOWN_SOURCE].count >= 3, what="the unknown sender")
        sender = senders[UNKNOWN_SOURCE]
        assert sender.count == 3
        assert sender.account == "4471"
        assert sender.transport == "UDP"
        assert before <= sender.last_seen <= time.time()
        assert "203.0.113.10" not in senders  # the real carrier is identified


def test_status_cli_twin_prints_the_same_model(lab: Lab) -> None:
    proc = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "status",
         "--json", "--config-dir", str(lab.config_dir)],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["connected"] is True
    [carrier] = [e for e in data["endpoints"] if e["name"] == "carrier"]
    assert carrier["trunk"] is True
    assert carrier["identify_matches"] == ["203.0.113.10/32"]
    assert data["asterisk_version"].startswith("22.")
    assert lab.secret() not in proc.stdout + proc.stderr


async def test_a_pjsip_reload_resyncs_trunks(in_pbx_netns: Lab) -> None:
    """A trunk added (then removed) in pjsip.conf shows up (then goes) without reconnecting."""
    lab = in_pbx_netns
    pjsip = Path(lab.config_dir) / "pjsip.conf"
    original = pjsip.read_text()
    async with live(lab) as session:
        try:
            pjsip.write_text(original + "\n[newprov]\ntype=aor\ncontact=sip:203.0.113.12:5060\n"
                             "[newprov]\ntype=endpoint\naors=newprov\ncontext=inbound-provider\n"
                             "[newprov]\ntype=identify\nendpoint=newprov\nmatch=203.0.113.12\n")
            await session.connection.command("module reload res_pjsip.so")
            await eventually(lambda: "newprov" in session.state.endpoints
                             and session.state.endpoints["newprov"].is_trunk,
                             what="the new trunk after the reload")
            assert session.state.endpoints["newprov"].matches == ("203.0.113.12/32",)
        finally:
            pjsip.write_text(original)
            await session.connection.command("module reload res_pjsip.so")
        await eventually(lambda: "newprov" not in session.state.endpoints,
                         what="the removed trunk gone")
        assert session.syncs >= 3  # the login resync and one per reload


def test_status_listen_collects_unknown_senders(lab: Lab) -> None:
    with ami_logins(lab) as logins:
        cli = subprocess.Popen(
            ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "status",
             "--json", "--listen", "6", "--config-dir", str(lab.config_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            logins.wait()  # it hears the security events from now on
            lab.call(CallSpec(did="15551230002", source="203.0.113.13", count=2, rate=5,
                              from_user="scanner"))
            out, err = cli.communicate(timeout=60)
        finally:
            if cli.poll() is None:
                cli.kill()
    # Critical: in the lab every spare address is in the carrier's /24, so the diagnosis
    # is "the provider of trunk carrier now sends from 203.0.113.13".
    assert cli.returncode == 2, err
    data = json.loads(out)
    [sender] = [s for s in data["unknown_senders"] if s["address"] == "203.0.113.13"]
    assert sender["count"] == 2
    assert sender["accounts"] == ["scanner"]
    [moved] = [f for f in data["findings"] if f["code"] == "provider-ip-changed"
               and f["details"]["address"] == "203.0.113.13"]
    assert moved["details"]["trunk"] == "carrier"


async def test_auth_passwords_from_asterisk_never_reach_the_model(in_pbx_netns: Lab) -> None:
    """Real AuthDetail events carry Password in clear (reference §1.1): dropped at the parser."""
    lab = in_pbx_netns
    pjsip = Path(lab.config_dir) / "pjsip.conf"
    original = pjsip.read_text()
    password = "Pw-" + "7e3f9a1c" * 2
    seen: list[str] = []
    async with live(lab) as session:
        apply = session.state.apply

        def record(message: Any) -> Any:  # every message the session hands to the model
            seen.append(repr(message))
            return apply(message)

        session.state.apply = record  # type: ignore[method-assign]
        try:
            pjsip.write_text(original + "\n[phone9]\ntype=auth\nauth_type=userpass\n"
                             f"username=phone9\npassword={password}\n[phone9]\ntype=aor\n"
                             "max_contacts=1\n[phone9]\ntype=endpoint\nauth=phone9\n"
                             "outbound_auth=phone9\naors=phone9\n")
            await session.connection.command("module reload res_pjsip.so")
            await eventually(lambda: "phone9" in session.state.endpoints, what="phone9")
            await session.connection.action({"Action": "PJSIPShowEndpoint",
                                             "Endpoint": "phone9"})
            await session.connection.action({"Action": "PJSIPShowAuths"})
        finally:
            pjsip.write_text(original)
            await session.connection.command("module reload res_pjsip.so")
    assert any("AuthDetail" in text for text in seen)
    assert any("'username': 'phone9'" in text for text in seen)
    assert not any(password in text for text in seen)
