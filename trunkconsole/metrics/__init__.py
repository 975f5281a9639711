"""Prometheus metrics of `trunkconsole watch` (prometheus_client, custom collector)."""
