"""A new IP-authenticated trunk against the lab: one diff, verified, and calls flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.changes.trunk import TrunkSpec, plan_trunk_add
from trunkconsole.errors import OperatorError
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.pjsip.addresses import parse_provider_address

from .helpers import run_cli


def test_new_trunk_takes_calls(lab_config: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    lab = lab_config
    out = run_cli(lab, "trunk", "add", "carrier2", "--provider-ip", "203.0.113.14",
                  "--provider-ip", "203.0.113.15", "--did", "15551230002",
                  "--route-to", "inbound-provider", "--from-user", "15551230000", "--yes",
                  state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "applied and verified" in out.stdout
    for line in ("+type = identify", "+match = 203.0.113.14", "+match = 203.0.113.15",
                 "+identify_by = ip", "+direct_media = no", "+[from-carrier2]",
                 "+exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier2,60)"):
        assert line in out.stdout
    detail = lab_ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier2"})
    endpoint = next(m for m in detail if first(m, "event") == "EndpointDetail")
    assert first(endpoint, "context") == "from-carrier2"
    assert first(endpoint, "fromuser") == "15551230000"
    for source in ("203.0.113.14", "203.0.113.15"):
        report = lab.call(CallSpec(did="15551230002", source=source, duration=0.3))
        assert report.answered == 1, report.summary()
        channel = lab_ami.wait_event(lambda e: first(e, "event") == "Newchannel"
                                     and first(e, "channel").startswith("PJSIP/carrier2-"), 5)
        assert first(channel, "context") == "from-carrier2"


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "carrier"}, "already exists"),
    ({"name": "bad name"}, "not valid"),
    ({"name": "x\r\ntype=aor"}, "not valid"),
    ({"dids": ["1555"], "route_to": ""}, "--route-to"),
    ({"dids": ["15x5"], "route_to": "inbound-provider"}, "not a number"),
    ({"dids": ["1555"], "route_to": "nosuchcontext"}, "not in extensions.conf"),
    ({"codecs": ["ulaw", "bogus"]}, "unknown codec"),
    ({"from_user": "a b"}, "from_user"),
])
def test_bad_trunk_specs_change_nothing(lab: Lab, changes: dict[str, object],
                                        message: str) -> None:
    before = {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    spec = TrunkSpec(name="newtrunk", provider_ips=[parse_provider_address("203.0.113.16")])
    for key, value in changes.items():
        setattr(spec, key, value)
    with pytest.raises(OperatorError, match=message):
        plan_trunk_add(lab.config_dir, spec)
    assert {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")} == before
