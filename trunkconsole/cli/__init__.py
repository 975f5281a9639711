"""The scriptable front end: `trunkconsole SUBCOMMAND`, one module per command family.

Beside tui/ and above the core: each twin parses flags, calls the same core function the
console calls, and prints. Nothing in the core imports from here.
"""
