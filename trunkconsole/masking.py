"""Secrets never reach a screen, a diff, a bundle or a log: which options hold them, and
masking their values in config text, diffs and change titles.

Read-only helpers shared by the audit log (changes/), the review and config screens, the
CLI twins and the support bundle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Options whose values are secrets: auth password/md5_cred/password_digest (Asterisk 22:
# a stored digest authenticates as well as the password)/oauth_secret/refresh_token,
# manager.conf secret, the wizard's inbound_auth/ and outbound_auth/ forms.
SECRET_OPTIONS = ("password", "secret", "md5_cred", "password_digest", "oauth_secret",
                  "refresh_token", "outbound_auth/password", "inbound_auth/password",
                  "outbound_auth/md5_cred", "inbound_auth/md5_cred",
                  "outbound_auth/password_digest", "inbound_auth/password_digest")
_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_OPTIONS, key=len, reverse=True))
# The value runs to an unescaped ';' (main/config.c keeps '\;' as a literal ';').
_SECRET_LINE = re.compile(
    rf"^(?P<head>[+\- ]?[ \t]*(?:{_NAMES})[ \t]*(?:\+=|=>?)[ \t]*)"
    r"(?P<value>(?:\\;|[^;\r\n])*)",
    re.IGNORECASE | re.MULTILINE,
)
# A change title such as "set password = X on auth Y".
_SECRET_TITLE = re.compile(rf"(?P<head>\b(?:{_NAMES})\s*=\s*)(?P<value>\S+)", re.IGNORECASE)


def is_secret_option(name: str) -> bool:
    """True for options whose value must never be shown or logged."""
    return name.strip().lower() in SECRET_OPTIONS


def mask_secrets(text: str) -> str:
    """Replace the values of secret options in config text or a diff."""
    return _SECRET_LINE.sub(lambda m: m.group("head") + "********", text)


def shown_value(name: str, value: str, file: str) -> str:
    """A config value as a screen shows it: secrets masked, and anything read from a file
    outside the config directory (an absolute #include: Asterisk reads it, and it may be
    any file on the host) withheld."""
    if is_secret_option(name) or is_secret_option(name.rpartition("/")[2]):
        return "********"
    if file.startswith("/"):
        return f"(from {file}, outside the config directory: --show-secrets shows it)"
    return value


def mask_title(text: str) -> str:
    """Mask `password = X` in a one-line description of a change."""
    return _SECRET_TITLE.sub(lambda m: m.group("head") + "********", text)


def object_json(obj: Any, custom: frozenset[str] | None = None,
                shown: Callable[[str, str, str], str] = shown_value) -> dict[str, Any]:
    """A PJSIP object's JSON with each value as shown(name, value, file) gives it (masked by
    default); on FreePBX each value also says whether it lives in a custom file."""
    data: dict[str, Any] = obj.to_json()
    for name, values in data.get("options", {}).items():
        for value in values:
            if custom is not None:
                value["custom"] = value["file"] in custom
            value["value"] = shown(name, str(value["value"]), str(value.get("file", "")))
    return data
