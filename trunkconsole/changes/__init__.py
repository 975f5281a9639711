"""Guided changes: the only code that writes (config files, reloads, the SIP logger)."""
