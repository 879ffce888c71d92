"""Schemathesis with every check (`--checks all`) against a running server: its OpenAPI
document against what it answers, on SQLite and PostgreSQL, with and without the token.

Every check must pass: no 5xx, every status, header, content type and body as
documented, valid requests accepted, invalid ones refused, `Allow` and auth as
documented, resources created by `POST /runs` found where the links say. The example
count per operation is small so that the file takes about a minute; raise it by hand
with `SCORECARD_FUZZ_EXAMPLES=200` (and vary `SCORECARD_FUZZ_SEED`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from tests.api.conftest import TOKEN, RunningServer, Server, make_workspace
from tests.databases import BACKENDS, database

EXAMPLES = int(os.environ.get("SCORECARD_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("SCORECARD_FUZZ_SEED", "1"))
# (the server: open reads, reads behind the token, or no token at all; the requests)
RUNS = [
    ("public", "token"),
    ("public", "anonymous"),
    ("private", "token"),
    ("private", "anonymous"),
    ("no-token", "token"),
]


# A request for an exemption is refused (422) for what no schema can say: a justification
# shorter than a sentence, an expiry beyond the server's `exemptions.max_days` or already
# past, a check the track does not have. So is a batch of pushed results naming an entity
# or check the server does not have, a track document to preview whose YAML is not a
# valid track, and fixes of a track, level, check or entity the server does not have (or
# with no GitHub token). Schema-valid requests may get that answer.
CONFIG = """
[[operations]]
include-name = "POST /api/v1/exemptions"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /api/v1/results"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]

[[operations]]
include-name = "POST /api/v1/tracks/preview"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]

[[operations]]
include-name = "POST /api/v1/fixes"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]
"""


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def servers(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """On `backend`: a server with open reads, one with reads behind the token, and one
    without a token (its writes answer 403 to anyone)."""
    running: dict[str, Server] = {}
    with ExitStack() as stack:
        for kind in ("public", "private", "no-token"):
            root = tmp_path_factory.mktemp(f"fuzz-{backend}-{kind}")
            url = stack.enter_context(database(backend, root))
            workspace = replace(make_workspace(root, url), public_reads=kind != "private")
            if kind == "no-token":
                workspace = replace(workspace, api_token=None)
            running[kind] = stack.enter_context(RunningServer(workspace, root))
        yield running


@pytest.mark.parametrize(("kind", "auth"), RUNS)
def test_schemathesis_finds_nothing(
    servers: dict[str, Server], kind: str, auth: str, tmp_path: Path
) -> None:
    server = servers[kind]
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.url}/api/v1/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--generation-database=none",
        "--request-timeout=20",
        "--no-color",
    ]
    if auth == "token":
        command.append(f"--header=Authorization: Bearer {TOKEN}")
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    # Its own folder, so that nothing it writes lands in the repository.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested.group(1)) >= 18, result.stdout  # every operation, badges too
