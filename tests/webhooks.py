"""A real webhook receiver on loopback for tests that hear notifications: an HTTP server
that takes Apprise's JSON webhook, and can answer 500 or take its time. The `webhook`
fixture of tests/conftest.py starts one for a test."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Webhook:
    """Every POST it answered 200 to, in `received`; `failures` requests are answered
    500 first, each after `delay` seconds. On `port`, or on a free one (known once it
    has started) when that is 0."""

    port: int = 0
    failures: int = 0
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def start(self) -> Webhook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(hook.delay)
                if hook.failures > 0:
                    hook.failures -= 1
                    hook.refused.append(time.monotonic())
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.received.append(Received(dict(self.headers), body, time.monotonic()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} messages came"
            time.sleep(0.05)
        return self.received
