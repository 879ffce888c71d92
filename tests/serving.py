"""A real scorecard server for tests: the app of a service under uvicorn, in a thread, on a
free loopback port. The API and page tests start theirs through `ServedApp`; `run_all`
runs every track on one through the API."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from api import create_app
from scorecard.service.service import Service
from scorecard.workspace import Workspace
from tests.tokens import client


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServedApp:
    """The service of `workspace`, served until `stop()`; `with` starts and stops it."""

    def __init__(self, workspace: Workspace, *, schedule: bool = False) -> None:
        self.service = Service.create(workspace, schedule=schedule)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(self.service), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uvicorn.run, daemon=True, name="scorecard")

    def start(self, timeout: float = 30) -> None:
        """Start, and return once the server listens and its start-up run has finished."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        # An empty store gets a first run at start; the server is ready once it has finished.
        while self.service.runs.running():
            if time.monotonic() > deadline:
                raise RuntimeError("the first run did not finish")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop gracefully: runs in progress may finish."""
        self.uvicorn.should_exit = True
        self.thread.join(30)

    def __enter__(self) -> ServedApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_all(url: str, token: str, timeout: float = 30) -> dict[str, Any]:
    """Start a run of every track through the API, with a token that may, and wait for
    it to finish; returns the finished run."""
    with client(url, token) as http:
        started = http.post("/api/v1/runs", json={})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + timeout
        while (found := http.get(f"/api/v1/runs/{run_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
    assert found["status"] == "finished", found
    return found
