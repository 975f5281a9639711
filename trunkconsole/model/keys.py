"""What changed in the live model: (kind, name) keys the front end pulls.

PbxState.apply() returns them and collects them until take_changes(); a screen updates
only the rows whose keys it gets.
"""

from __future__ import annotations

from typing import Final

Key = tuple[str, str]
ENDPOINT: Final = "endpoint"
CONTACT: Final = "contact"
REGISTRATION: Final = "registration"
CHANNEL: Final = "channel"
# A channel's RTCP figures changed (its other fields did not): a front end redraws only
# the quality cells (500 calls are ~100 reports a second).
QUALITY: Final = "quality"
SENDER: Final = "sender"
HANGUPS: Final = ("hangups", "")
CORE: Final = ("core", "")
_NOTHING: Final[frozenset[Key]] = frozenset()
Fields = dict[str, str]  # an AMI message's fields, lower-case names
