"""A provider's address list from a file (`--from-file`): one address a line, all or nothing.

Carriers publish their signalling addresses as lists; the whole list goes into one
transaction (one diff, one reload, one verification). A line that is not an address
refuses the whole file, naming the line, before anything is read from Asterisk.
"""

from __future__ import annotations

import sys

from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.addresses import ProviderAddress, parse_provider_address
from trunkconsole.readable import read_regular

MAX_BYTES = 1 << 20  # a provider's list is a few hundred lines, never a megabyte
MAX_ADDRESSES = 4096


def parse_address_lines(text: str, source: str, *, force: bool = False) -> list[ProviderAddress]:
    """Addresses from text: blank lines and `#` comments skipped, anything else must parse."""
    addresses: list[ProviderAddress] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            addresses.append(parse_provider_address(line, force=force))
        except OperatorError as exc:
            raise OperatorError(f"{source}:{number}: {exc.what}", evidence=exc.evidence,
                                fix=(exc.fix + "; " if exc.fix else "")
                                + "nothing was changed: fix that line and run again") from exc
        if len(addresses) > MAX_ADDRESSES:
            raise OperatorError(f"{source}: more than {MAX_ADDRESSES} addresses",
                                fix="a provider's list is far shorter: check the file")
    if not addresses:
        raise OperatorError(f"{source} holds no address",
                            fix="one IP, network or hostname a line; '#' starts a comment")
    return addresses


def read_address_file(path: str, *, force: bool = False) -> list[ProviderAddress]:
    """Addresses from a file (`-` is standard input)."""
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            data = read_regular(path, MAX_BYTES, "address file")
    except OSError as exc:
        raise OperatorError(f"cannot read {source}", evidence=exc.strerror or str(exc)) from exc
    if len(data) > MAX_BYTES:
        raise OperatorError(f"{source} is larger than {MAX_BYTES} bytes",
                            fix="give the provider's address list, one address a line")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise OperatorError(f"{source}:{line}: not UTF-8 text",
                            fix="nothing was changed: save the list as plain text") from exc
    return parse_address_lines(text, source, force=force)
