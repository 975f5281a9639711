"""`trunkconsole bundle` on the lab PBX: every part present, no secret anywhere in it."""

from __future__ import annotations

import tarfile
from pathlib import Path

from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.lab import Lab

from .helpers import run_cli

PASSWORD = "Zq9-trunk-auth-password-Xy7"


def test_bundle_has_every_part_and_no_secret(lab_config: Lab, lab_ami: AmiProbe,
                                             tmp_path: Path) -> None:
    lab = lab_config
    pjsip = lab.config_dir / "pjsip.conf"
    pjsip.write_text(pjsip.read_text() + "\n[carrier-out-auth]\ntype = auth\n"
                     f"auth_type = userpass\nusername = pbx1\npassword = {PASSWORD}\n")
    lab_ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    output = tmp_path / "b.tar.gz"
    out = run_cli(lab, "bundle", "--output", str(output), "--since", "10m",
                  "--journal", str(tmp_path / "none.sqlite"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(output) as tar:
        members = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                   for m in tar.getmembers() if m.isfile()}
    for part in ("MANIFEST.txt", "versions.txt", "config/pjsip-resolved.json",
                 "config/identifies.json", "findings.json", "firewall/verdicts.json",
                 "firewall/nft-ruleset.txt", "asterisk/pjsip-show-channelstats.txt",
                 "asterisk/core-show-version.txt", "asterisk-logs/excerpt.log"):
        assert part in members, sorted(members)
    assert "22.10" in members["asterisk/core-show-version.txt"]
    assert "carrier-out-auth" in members["config/pjsip-resolved.json"]
    assert "203.0.113.10" in members["config/identifies.json"]
    assert "journal: none at" in members["MANIFEST.txt"]
    secret = lab.secret()
    for name, text in members.items():
        assert PASSWORD not in text, name
        assert secret not in text, name
