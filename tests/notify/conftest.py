"""Real receivers on loopback for the notification tests: an HTTP server that takes
Apprise's JSON webhook (and can answer 500 or take its time), and an SMTP server
(aiosmtpd) that keeps every e-mail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.serving import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Webhook:
    """Every POST it answered 200 to, in `received`; `failures` requests are answered
    500 first, each after `delay` seconds."""

    port: int
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


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(free_port()).start()
    yield hook
    hook.stop()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class Smtp:
    port: int
    mailbox: _Mailbox

    @property
    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=scorecard@example.com"
            "&to=data-team@example.com&mode=insecure"
        )

    def wait_for(self, count: int, timeout: float = 20) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.mailbox.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.mailbox.messages)} of {count} e-mails"
            time.sleep(0.05)
        return self.mailbox.messages


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Smtp(port, mailbox)
    controller.stop()
