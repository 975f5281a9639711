"""`lab scenario codec-mismatch` (G.729 only vs allow=ulaw,alaw) and an SRTP offer to a
plain endpoint: the workflow explains the 488 and the suggested change makes calls work."""

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


@pytest.fixture
def codec_lab(lab_config: Lab) -> Iterator[Lab]:
    scenarios.apply(lab_config, "codec-mismatch", log=lambda _m: None)
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def troubleshoot(lab: Lab) -> str:
    out = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         "troubleshoot", "carrier", "--wait", "20"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stdout + out.stderr
    return out.stdout


def test_488_codec_explained_and_fixed(codec_lab: Lab, tmp_path: Path) -> None:
    lab = codec_lab
    text = troubleshoot(lab)
    assert "Asterisk answered 488 Not Acceptable Here" in text
    assert "the provider offers g729 over RTP/AVP" in text
    assert "the endpoint allows ulaw, alaw, media_encryption=no" in text
    assert "fix: trunkconsole config set endpoint carrier allow ulaw,alaw,g729" in text
    lab.stop_background_calls()
    fixed = run_cli(lab, "config", "set", "endpoint", "carrier", "allow", "ulaw,alaw,g729",
                    "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "applied and verified" in fixed.stdout
    g729 = InviteVariant(offer=("18",))
    assert lab.call(CallSpec(did="15551230001", variant=g729)).answered == 1


def test_488_srtp_offer_explained_and_fixed(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    srtp = CallSpec(did="15551230001", variant=InviteVariant(srtp=True), count=60, rate=0.2,
                    duration=1)
    lab.call_in_background(srtp)
    try:
        text = troubleshoot(lab)
    finally:
        lab.stop_background_calls()
    assert "the provider offers ulaw over RTP/SAVP (SDES keys: AES_CM_128_HMAC_SHA1_80)" in text
    assert "the offer is SRTP only (RTP/SAVP) and the endpoint does not do SRTP" in text
    assert "fix: trunkconsole config set endpoint carrier media_encryption sdes" in text
    fixed = run_cli(lab, "config", "set", "endpoint", "carrier", "media_encryption", "sdes",
                    "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert lab.call(CallSpec(did="15551230001", variant=InviteVariant(srtp=True))).answered == 1
