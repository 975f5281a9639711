"""Serve the metrics over HTTP, or write them for node_exporter's textfile collector.

A small threading HTTP server answers GET /metrics with the collector's families in the
text format (metrics.text: byte-identical to prometheus_client's generate_latest, without
its per-sample label-name validation). The textfile is written to a temporary name and
renamed, as write_to_textfile does; node_exporter reads only names ending in .prom.
Default 127.0.0.1:9595: expose it only through the operator's own network policy.
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from trunkconsole.errors import OperatorError
from trunkconsole.journal.view import WatchView
from trunkconsole.metrics.collector import WatchCollector
from trunkconsole.metrics.text import exposition

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render(view: WatchView) -> bytes:
    """The exposition text."""
    return exposition(WatchCollector(view).collect())


class _Handler(BaseHTTPRequestHandler):
    view: WatchView

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "only /metrics here")
            return
        try:
            body = render(self.view)
        except Exception as exc:
            self.send_error(500, f"collect failed: {type(exc).__name__}")
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # no access log on stderr per scrape


def serve(view: WatchView, host: str, port: int) -> ThreadingHTTPServer:
    """Start the HTTP server thread; call .shutdown() to stop it."""
    handler = type("WatchHandler", (_Handler,), {"view": view})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OperatorError(f"cannot serve metrics on {host}:{port}",
                            evidence=exc.strerror or str(exc),
                            fix="choose another --metrics address, or --no-metrics") from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


def write_textfile(view: WatchView, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(render(view))
    os.replace(tmp, path)


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:9595`, `[::1]:9595` or `:9595` (all addresses)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not an address:port: {text!r}")
    host = host.strip("[]")
    return host or "0.0.0.0", int(port)
