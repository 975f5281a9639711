"""Serve the metrics over HTTP, or write them for node_exporter's textfile collector.

start_http_server(port, addr, registry) returns (server, thread) in prometheus_client
0.20+; write_to_textfile writes a temp file and renames it (the name must end in .prom).
Default 127.0.0.1:9595: expose it only through the operator's own network policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client import write_to_textfile as _write

from trunkconsole.errors import OperatorError
from trunkconsole.journal.view import WatchView
from trunkconsole.metrics.collector import WatchCollector


def registry_for(view: WatchView) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WatchCollector(view))
    return registry


def serve(view: WatchView, host: str, port: int) -> Any:
    """Start the HTTP server thread; the server object (call .shutdown() to stop)."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry_for(view))
    except OSError as exc:
        raise OperatorError(f"cannot serve metrics on {host}:{port}",
                            evidence=exc.strerror or str(exc),
                            fix="choose another --metrics address, or --no-metrics") from exc
    return server


def write_textfile(view: WatchView, path: Path) -> None:
    _write(str(path), registry_for(view))


def render(view: WatchView) -> bytes:
    """The exposition text (tests and benchmarks)."""
    return generate_latest(registry_for(view))


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:9595`, `[::1]:9595` or `:9595` (all addresses)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not an address:port: {text!r}")
    host = host.strip("[]")
    return host or "0.0.0.0", int(port)
