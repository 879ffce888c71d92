"""An SMTP server on loopback for the notification tests (aiosmtpd) that keeps every
e-mail; the webhook receiver they use with it is tests/webhooks.py's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.serving import free_port


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
