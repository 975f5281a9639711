"""The lab itself: a real Asterisk 22, a real carrier, and a clean `down`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from trunkconsole.errors import OperatorError
from trunkconsole.lab.addresses import SPARE_ADDRESSES
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab


def test_provider_endpoint_is_listed(lab_ami: AmiProbe) -> None:
    reply = lab_ami.action({"Action": "PJSIPShowEndpoints"})
    names = [first(m, "objectname") for m in reply if first(m, "event") == "EndpointList"]
    assert names == ["carrier"]
    detail = lab_ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"})
    identify = [m for m in detail if first(m, "event") == "IdentifyDetail"]
    assert first(identify[0], "match") == "203.0.113.10/255.255.255.255"


def test_asterisk_is_22(lab_ami: AmiProbe) -> None:
    settings = lab_ami.action({"Action": "CoreSettings"})[0]
    assert first(settings, "asteriskversion").startswith("22.")


def test_inbound_call_from_carrier_reaches_did(lab: Lab, lab_ami: AmiProbe) -> None:
    report = lab.call(CallSpec(did="15551230001", duration=0.5))
    assert report.answered == 1, report.summary()
    event = lab_ami.wait_event(
        lambda e: first(e, "event") == "Newchannel"
        and first(e, "channel").startswith("PJSIP/carrier-"), timeout=5)
    assert first(event, "exten") == "15551230001"
    assert first(event, "context") == "inbound-provider"


def test_unknown_source_raises_invalid_account_id(lab: Lab, lab_ami: AmiProbe) -> None:
    source = SPARE_ADDRESSES[0]
    report = lab.call(CallSpec(did="15551230001", source=source))
    assert report.rejected == {"401": 1}, report.summary()
    event = lab_ami.wait_event(lambda e: first(e, "event") == "InvalidAccountID", timeout=5)
    assert first(event, "remoteaddress") == f"IPV4/UDP/{source}/5060"
    assert first(event, "service") == "PJSIP"


def test_carrier_403_ends_outbound_call_with_cause_21(lab: Lab, lab_ami: AmiProbe) -> None:
    lab.set_carrier("reject")
    try:
        lab.originate("15550001111")
        hangup = lab_ami.wait_event(
            lambda e: first(e, "event") == "Hangup"
            and first(e, "channel").startswith("PJSIP/carrier-"), timeout=10)
    finally:
        lab.set_carrier("answer")
    assert first(hangup, "cause") == "21"
    assert first(hangup, "cause-txt") == "Call Rejected"
    assert first(hangup, "techcause") == "403"  # Asterisk >= 22.7 sends the SIP code


def test_call_input_is_validated(lab: Lab) -> None:
    with pytest.raises(OperatorError, match="SIP header"):
        lab.call(CallSpec(did="15551230001", caller_name="x\r\nVia: evil"))
    with pytest.raises(OperatorError, match="not a carrier address"):
        lab.call(CallSpec(did="15551230001", source="192.0.2.1"))
    with pytest.raises(OperatorError, match="dialable"):
        lab.originate("1000\r\nAction: Command")


def _mounts() -> str:
    return Path("/proc/mounts").read_text()


def _processes_rooted_in(rootfs: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "root").startswith(rootfs):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_down_leaves_nothing_behind(lab: Lab) -> None:
    """A second lab beside the session's one: up, then down, and nothing remains."""
    other = Lab(f"dt{lab.name[-6:]}")  # one per session lab: xdist workers run side by side
    state = other.up(log=lambda _m: None)
    assert other.is_running()
    assert state.asterisk_pid in _processes_rooted_in(state.rootfs)
    other.down(log=lambda _m: None)

    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"tc-{other.name}-" not in namespaces
    assert not Path(f"/run/netns/tc-{other.name}-pbx").exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in (state.asterisk_pid, state.uas_pid))
    assert state.asterisk_pid not in _processes_rooted_in(state.rootfs)
    # The session lab still runs from the same root filesystem: only ours must be gone.
    assert other.name not in _mounts()
    assert not other.dir.exists()
    host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"tc-{other.name}" not in host_links
    # The session's lab was not disturbed.
    assert lab.is_running()
