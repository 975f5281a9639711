"""The lab's addresses, from TEST-NET-3 (RFC 5737); constants only, cheap to import."""

PREFIX_LEN = 24
PBX_ADDRESS = "203.0.113.1"
CARRIER_ADDRESS = "203.0.113.10"
# Spare carrier addresses: "the provider's new IP" and unknown senders.
SPARE_ADDRESSES = tuple(f"203.0.113.{host}" for host in range(11, 21))
