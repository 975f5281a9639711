"""trunkconsole: see and fix SIP trunks on an Asterisk PBX."""

__version__ = "0.1.0"
