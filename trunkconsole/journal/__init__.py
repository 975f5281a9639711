"""The journal: what `trunkconsole watch` saw, in one SQLite file, for history and check."""
