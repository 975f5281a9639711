"""Lab scenarios break the lab the way production breaks (the diagnoses are tested apart)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import qualify_now, rx_counts


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_provider_ip_changed(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    scenarios.apply(scenario_lab, "provider-ip-changed", log=lambda _m: None)
    assert scenario_lab.carrier_address() == scenarios.NEW_CARRIER_ADDRESS
    event = lab_ami.wait_event(lambda e: first(e, "event") == "InvalidAccountID", timeout=5)
    assert scenarios.NEW_CARRIER_ADDRESS in first(event, "remoteaddress")
    assert scenario_lab.status()["scenario"] == "provider-ip-changed"


def test_rtp_blocked_then_reset(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    scenarios.apply(scenario_lab, "rtp-blocked", log=lambda _m: None)
    time.sleep(3)
    assert rx_counts(lab_ami) == [0]  # the call is up, no RTP reaches Asterisk
    scenarios.apply(scenario_lab, "reset", log=lambda _m: None)
    scenario_lab.call_in_background(CallSpec(did="15551230002", duration=5, media=True))
    time.sleep(3)
    counts = rx_counts(lab_ami)
    assert counts
    assert counts[-1] > 50  # about 50 packets a second once nothing drops them


def test_callerid_rejected(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    scenarios.apply(scenario_lab, "callerid-rejected", log=lambda _m: None)
    hangup = lab_ami.wait_event(lambda e: first(e, "event") == "Hangup"
                                and first(e, "channel").startswith("PJSIP/carrier-"), 10)
    assert first(hangup, "techcause") == "403"


def test_trunk_down(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    scenarios.apply(scenario_lab, "trunk-down", log=lambda _m: None)
    qualify_now(scenario_lab)
    event = lab_ami.wait_event(lambda e: first(e, "event") == "ContactStatus"
                               and first(e, "contactstatus") == "Unreachable", timeout=25)
    assert first(event, "aor") == "carrier"
