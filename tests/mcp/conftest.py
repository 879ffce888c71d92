"""Workspaces over the demo catalog for the MCP tests: one filled by a real `scorecard
run` (with an exemption kept as code) for the stdio server, and real servers with
tokens for the HTTP one; and MCP client sessions of the SDK over both transports."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from scorecard.workspace import DEMO_DIR, Workspace, bundled_tracks
from tests.serving import ServedApp

# checkout-web fails `has_runbook`, a silver check of production-readiness: exempted, it
# reaches silver, and the exemption shows where it stands in for the check.
EXEMPTION = """\
apiVersion: scorecard/v1
kind: Exemption
entity: component:default/checkout-web
track: production-readiness
check: has_runbook
justification: The runbook moves to the new wiki this quarter; the old one is linked.
expires: {expires}
"""
# A check module printing while it is imported: the stdio server must keep it off stdout.
NOISY_CHECKS = 'print("noisy checks imported")\n'
NOISY_LINE = "noisy checks imported"

VARIABLES = {"admin": "SC_MCP_TEST_ADMIN_TOKEN", "reader": "SC_MCP_TEST_READER_TOKEN"}
ADMIN_NAME, READER_NAME = "release-admin", "dashboards"


def write_workspace(root: Path, *, exemption: bool = False, settings: str = "") -> Path:
    """A copy of the demo workspace in `root` with its scorecard.yaml; returns the file."""
    shutil.copytree(DEMO_DIR / "catalog", root / "catalog")
    shutil.copytree(DEMO_DIR / "checks", root / "checks")
    shutil.copytree(DEMO_DIR / "campaigns", root / "campaigns")
    shutil.copytree(bundled_tracks(), root / "tracks")
    (root / "exemptions").mkdir()
    if exemption:
        expires = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
        (root / "exemptions" / "checkout-web.yaml").write_text(EXEMPTION.format(expires=expires))
    config = root / "scorecard.yaml"
    config.write_text(
        "catalog: catalog/catalog-info.yaml\n"
        "tracks: tracks\n"
        "checks: checks\n"
        "campaigns: campaigns\n"
        "exemptions: {files: [exemptions]}\n"
        "database: sqlite:///scorecard.db\n"
        "reload_interval: 0\n" + settings
    )
    return config


def database_url(config: Path) -> str:
    return f"sqlite:///{config.parent / 'scorecard.db'}"


def scorecard_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scorecard", "--config", str(config), *args]


@pytest.fixture(scope="session")
def ran_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace file of a demo copy whose database a real `scorecard run` filled."""
    root = tmp_path_factory.mktemp("mcp-stdio")
    config = write_workspace(root, exemption=True)
    (root / "checks" / "noisy.py").write_text(NOISY_CHECKS)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}
    done = subprocess.run(
        scorecard_command(config, "run"),
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return config


@asynccontextmanager
async def stdio_session(config: Path, errlog: Path) -> AsyncIterator[ClientSession]:
    """An initialized client session with `scorecard mcp` started as a subprocess; its
    stderr goes to `errlog`."""
    server = StdioServerParameters(
        command=sys.executable, args=scorecard_command(config, "mcp")[1:], cwd=config.parent
    )
    with errlog.open("w") as log:
        async with (
            stdio_client(server, errlog=log) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """An initialized client session with the `/mcp` endpoint of the server at `url`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def answer(result: CallToolResult) -> dict[str, Any]:
    """A successful call's structured answer, which its text content repeats as JSON."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """A failed call's message."""
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


@dataclass(frozen=True)
class Tokens:
    admin: str
    reader: str


@pytest.fixture(scope="session")
def tokens() -> Iterator[Tokens]:
    """An admin and a reader token in the environment, as a deployment sets them."""
    made = Tokens(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    before = {name: os.environ.get(name) for name in VARIABLES.values()}
    os.environ[VARIABLES["admin"]] = made.admin
    os.environ[VARIABLES["reader"]] = made.reader
    yield made
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


TOKENS = f"""\
tokens:
  - {{name: {ADMIN_NAME}, role: admin, env: {VARIABLES["admin"]}}}
  - {{name: {READER_NAME}, role: reader, env: {VARIABLES["reader"]}}}
"""


def _served(root: Path, settings: str) -> ServedApp:
    config = write_workspace(root, settings=settings)
    # The workspace's own database, whatever the environment names.
    return ServedApp(replace(Workspace.load(config), database=database_url(config)))


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory, tokens: Tokens) -> Iterator[ServedApp]:
    """A server whose reads need a token; its store filled by its start-up run."""
    with _served(tmp_path_factory.mktemp("mcp-private"), "public_reads: false\n" + TOKENS) as app:
        yield app


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory, tokens: Tokens) -> Iterator[ServedApp]:
    """A server whose reads are open to anyone; writes and the preview need tokens."""
    with _served(tmp_path_factory.mktemp("mcp-public"), TOKENS) as app:
        yield app
