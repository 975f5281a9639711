"""Issue 11: a secret that is not UTF-8 goes to the real Asterisk and nowhere else.

panoramisk 1.4 encodes actions as ASCII and, when that fails, logs the whole Login action
("Fail to send ...") to stderr, secret included. Here the secret comes from the
environment as raw bytes (os.environ decodes them with surrogateescape) and is sent to the
lab's Asterisk as those bytes: Asterisk refuses the login, and nothing prints the secret.
"""

from __future__ import annotations

import os
import subprocess
import sys

from trunkconsole.lab.lab import Lab

from .helpers import ROOT


def test_non_utf8_secret_is_sent_as_bytes_and_never_printed(lab: Lab) -> None:
    env = {k.encode(): v.encode() for k, v in os.environ.items()
           if k != "TRUNKCONSOLE_AMI_SECRET"}
    env[b"TRUNKCONSOLE_AMI_SECRET"] = b"wr\xffong-\xe4-secret"
    out = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "status",
         "--username", "trunkconsole", "--timeout", "8"],
        capture_output=True, timeout=60, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    assert out.returncode == 3, text
    assert b"authentication failed for user trunkconsole" in out.stderr, text
    assert b"-secret" not in text
    assert b"Fail to send" not in text
    assert b"Traceback" not in text
    log = (lab.log_dir / "security.log").read_text(errors="replace")
    assert 'SecurityEvent="InvalidPassword"' in log  # Asterisk did get the login
