"""`trunkconsole bundle [--since 1h] [--output FILE]`."""

from __future__ import annotations

import argparse
import io
import os
import socket
import tarfile
import time
from pathlib import Path
from typing import Any

from trunkconsole.visible import echo


def register(subparsers: Any) -> None:
    from trunkconsole.cli.journal import add_journal_argument
    from trunkconsole.cli.logs import add_log_dir_argument
    from trunkconsole.cli.support import add_since_argument

    bundle = subparsers.add_parser(
        "bundle", help="one tar.gz for the provider's ticket: config (secrets masked), "
        "findings, firewall, journal, logs, channel stats, versions")
    bundle.add_argument("--output", type=Path, help="the file to write (default "
                        "./trunkconsole-bundle-HOST-TIME.tar.gz)")
    bundle.add_argument("--config-dir", type=Path, default=argparse.SUPPRESS,
                        help="Asterisk configuration directory (default /etc/asterisk)")
    bundle.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    add_since_argument(bundle, "1h")
    add_journal_argument(bundle)
    add_log_dir_argument(bundle)
    bundle.set_defaults(handler=_bundle)


def _bundle(args: argparse.Namespace) -> int:
    from trunkconsole.bundle.collect import (
        Bundle,
        checks_part,
        config_part,
        journal_part,
        live_part,
        logs_part,
        network_part,
        versions_part,
    )
    from trunkconsole.cli.config import config_dir
    from trunkconsole.cli.journal import journal_path
    from trunkconsole.cli.support import ami_target
    from trunkconsole.errors import OperatorError
    from trunkconsole.pjsip.check import CheckOptions

    directory = config_dir(args)
    bundle = Bundle()
    versions_part(bundle)
    system = config_part(bundle, directory)
    try:
        target = ami_target(args)
    except OperatorError as exc:
        bundle.gaps.append(f"AMI: {exc.what}")
        target = None
    live = target is None or live_part(bundle, target)  # None: the check names why
    if not live:
        bundle.gaps.append("live checks: skipped, AMI could not be used (above)")
    checks_part(bundle, CheckOptions(since=args.since, log_dir=args.log_dir, live=live,
                                     journal=journal_path(args),
                                     journal_named=args.journal is not None),
                directory, lambda: ami_target(args))
    network_part(bundle, directory, system)
    journal_part(bundle, journal_path(args), args.since)
    logs_part(bundle, directory, args.since, args.log_dir)
    replaced = bundle.redact()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    name = f"trunkconsole-bundle-{socket.gethostname()}-{stamp}"
    manifest = [f"{name}: {len(bundle.members)} files, window {args.since:g} s",
                f"secret values redacted: {replaced}", "", "files:"]
    manifest += [f"  {member}" for member in sorted(bundle.members)]
    manifest += ["", "not included:"] + [f"  {gap}" for gap in bundle.gaps]
    bundle.add("MANIFEST.txt", "\n".join(manifest) + "\n")
    bundle.redact()  # the notes quote tools' errors: they go through the same scan
    output = args.output or Path(f"{name}.tar.gz")
    _write(output, name, bundle.members)
    echo(f"wrote {output} ({len(bundle.members)} files; {len(bundle.gaps)} notes in "
         "MANIFEST.txt)")
    return 0


def _write(output: Path, root: str, members: dict[str, str]) -> None:
    """The tar.gz, written to a temporary name and renamed: never half a bundle."""
    tmp = output.with_name(output.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name in sorted(members):
                data = members[name].encode("utf-8", "surrogateescape")
                info = tarfile.TarInfo(f"{root}/{name}")
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
