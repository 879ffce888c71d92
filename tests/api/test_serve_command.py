"""`scorecard serve` as a user runs it: a real process, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from scorecard.workspace import DATABASE_ENV, TOKEN_ENV


def test_serve_the_demo_then_stop_gracefully(tmp_path: Path, free_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (DATABASE_ENV, TOKEN_ENV)}
    process = subprocess.Popen(
        [sys.executable, "-m", "scorecard", "serve", "--port", str(free_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{free_port}"
    try:
        card = _wait_for(f"{base}/api/v1/entities/component/default/payments-gateway")
        levels = card["entity"]["levels"]
        assert levels == {
            "basics": "gold",
            "production-readiness": "gold",
            "security-hygiene": "gold",
        }
        badge = httpx.get(f"{base}/badges/component/default/payments-gateway/basics.svg")
        assert badge.status_code == 200
        assert "gold" in "".join(ET.fromstring(badge.text).itertext())
        assert httpx.post(f"{base}/api/v1/runs", json={}).status_code == 403  # no token set
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal: 128 + SIGINT, as a shell says.
    assert process.returncode in (0, 128 + signal.SIGINT, -signal.SIGINT), output
    assert f"http://localhost:{free_port}/docs" in output
    assert "Application shutdown complete" in output
    assert (tmp_path / "scorecard.db").is_file()


def _wait_for(url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if response.status_code == 200:
            return response.json()
        time.sleep(0.1)  # 404 until the first run has stored the entity
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")
