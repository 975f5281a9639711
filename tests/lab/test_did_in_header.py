"""`lab scenario did-in-header`: pilot in the Request-URI, the DID in P-Called-Party-ID.
The workflow names it, `did route` fixes it (reviewed diff, reload, verified), a call works."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.lab.uac_variants import InviteVariant

from .helpers import ROOT, run_cli

DID = "15551230001"


@pytest.fixture
def did_lab(lab_config: Lab) -> Iterator[Lab]:
    scenarios.apply(lab_config, "did-in-header", log=lambda _m: None)
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_did_in_header_named_fixed_and_verified(did_lab: Lab, tmp_path: Path) -> None:
    lab = did_lab
    out = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         "troubleshoot", "carrier", "--wait", "20"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stdout + out.stderr
    assert (f"number dialled: Request-URI {scenarios.PILOT}, To {scenarios.PILOT}, "
            f"P-Called-Party-ID {DID}") in out.stdout
    assert "Asterisk answered 404 Not Found" in out.stdout
    assert f"DID not routed: P-Called-Party-ID carries {DID}" in out.stdout
    assert (f"trunkconsole did route carrier --pilot {scenarios.PILOT} --header "
            "P-Called-Party-ID") in out.stdout

    lab.stop_background_calls()
    dry = run_cli(lab, "did", "route", "carrier", "--pilot", scenarios.PILOT, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "+exten => 15550000000,1,NoOp(" in dry.stdout
    assert "PJSIP_PARSE_URI_FROM(TC_DID_HEADER,user)" in dry.stdout
    assert "nothing changed" in dry.stdout
    fixed = run_cli(lab, "did", "route", "carrier", "--pilot", scenarios.PILOT, "--yes",
                    state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "applied and verified" in fixed.stdout
    variant = InviteVariant(called_party=DID)
    assert lab.call(CallSpec(did=scenarios.PILOT, variant=variant)).answered == 1
    # A DID the context does not have still gets no answer (Hangup(1), as before).
    other = InviteVariant(called_party="15559999999")
    assert lab.call(CallSpec(did=scenarios.PILOT, variant=other)).answered == 0
    # Twice is "unchanged" (exit 0, issue 16): the pilot reads that header already.
    again = run_cli(lab, "did", "route", "carrier", "--pilot", scenarios.PILOT, "--yes",
                    state=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith(f"unchanged: pilot {scenarios.PILOT} of trunk carrier "
                                   "already routes on the DID in P-Called-Party-ID\n")
    # Another header for the same pilot is refused: the pilot is in the context now.
    other_header = run_cli(lab, "did", "route", "carrier", "--pilot", scenarios.PILOT,
                           "--header", "To", "--yes", state=tmp_path)
    assert other_header.returncode == 3
    assert "already has extension" in other_header.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--pilot", "1555;x"], "not a number"),
    (["--pilot", "15550000000", "--header", "X-Evil"], "not one a DID is read from"),
    (["--pilot", "15551230001"], "already has extension"),
])
def test_did_route_refuses_and_changes_nothing(lab_config: Lab, args: list[str],
                                                message: str) -> None:
    before = (lab_config.config_dir / "extensions.conf").read_bytes()
    out = run_cli(lab_config, "did", "route", "carrier", *args, "--yes")
    assert out.returncode != 0
    assert message in out.stderr
    assert (lab_config.config_dir / "extensions.conf").read_bytes() == before
