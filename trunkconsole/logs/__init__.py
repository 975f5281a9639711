"""Asterisk's own record of the past: the log files logger.conf configures.

Read without a daemon: `check` and the Diagnoses screen look back over `--since` for
unknown senders, failed authentications and trunk reachability changes.
"""
