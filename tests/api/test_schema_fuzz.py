"""Schemathesis against the app's own OpenAPI: no generated request gets a 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api import create_app
from scorecard.service.service import Service
from scorecard.workspace import Workspace

AUTH = {"Authorization": "Bearer test-token-0123456789abcdef"}
EXAMPLES = 25


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, workspace_factory: Callable[..., Workspace]
) -> Iterator[FastAPI]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    workspace = workspace_factory(root, f"sqlite:///{root / 'db.sqlite'}")
    service = Service.create(workspace, schedule=False)
    service.start()  # the store is empty: a first run of every track starts
    try:
        yield create_app(service, manage_service=False)
    finally:
        service.stop()


def test_no_server_errors(app: FastAPI) -> None:
    """Every operation, with bounded generated examples (valid and invalid), authenticated
    so that writes are exercised too: the server answers each with less than 500."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error])

        no_server_error()
