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


def ami_target_and_gaps(args: argparse.Namespace) -> tuple[AmiTarget, list[str]]:
    """Flags/env/config.yaml first; without a secret, the user from manager.conf (the one
    named by --username, else the first whose classes suffice); and its known gaps."""
    settings = settings_from_args(args)
    if settings.ami.secret:
        return settings.ami, []
    from trunkconsole.ami.credentials import discover, user_target

    username = getattr(args, "username", None)
    if username:
        return user_target(Path(settings.asterisk_dir), username)
    return discover(Path(settings.asterisk_dir), prefer="trunkconsole"), []


def ami_target(args: argparse.Namespace) -> AmiTarget:
    """The AMI target (see ami_target_and_gaps)."""
    return ami_target_and_gaps(args)[0]
