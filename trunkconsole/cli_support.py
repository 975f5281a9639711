"""Helpers shared by the CLI twins: one way to find the AMI target from the flags."""

from __future__ import annotations

import argparse
from pathlib import Path

from trunkconsole.settings import AmiTarget, Settings, resolve_settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags, then environment, then config.yaml."""
    return resolve_settings(
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        username=getattr(args, "username", None),
        secret_file=getattr(args, "secret_file", None),
        asterisk_dir=getattr(args, "config_dir", None),
        readonly=getattr(args, "readonly", None),
    )


def ami_target(args: argparse.Namespace) -> AmiTarget:
    """The AMI target; without a secret anywhere, discover a user in manager.conf."""
    settings = settings_from_args(args)
    if settings.ami.secret:
        return settings.ami
    from trunkconsole.ami.credentials import discover

    return discover(Path(settings.asterisk_dir), prefer=getattr(args, "username", None)
                    or "trunkconsole")
