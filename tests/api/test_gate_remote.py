"""`scorecard gate --server`: against a real server on loopback, and with none there."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from scorecard.cli import app

TOKEN = "test-token-0123456789abcdef"
runner = CliRunner()


def gate(*args: Any) -> Any:
    return runner.invoke(app, ["gate", *map(str, args)], catch_exceptions=False)


def test_remote_gate_reads_the_servers_certification(server: Any) -> None:
    met = gate(
        "--server", server.url, "--entity", "component:default/payments-gateway",
        "--track", "production-readiness", "--require", "gold",
    )  # fmt: skip
    assert met.exit_code == 0, met.output
    assert "meets production-readiness gold" in met.stdout

    below = gate(
        "--server", server.url, "--entity", "checkout-web", "--format", "json",
        "--track", "production-readiness", "--require", "silver",
    )  # fmt: skip
    assert below.exit_code == 1, below.output
    document = json.loads(below.stdout)
    assert document["mode"] == "remote"
    assert document["results"][0]["reached"] == "bronze"
    assert "has_runbook" in document["results"][0]["blocking"]


def test_refresh_runs_first_and_waits(server: Any) -> None:
    before = len(server.client().get("/api/v1/runs").json()["items"])
    result = gate(
        "--server", server.url, "--entity", "component:default/ledger", "--refresh",
        "--token", TOKEN, "--track", "basics", "--require", "gold", "--timeout", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    runs = server.client().get("/api/v1/runs").json()["items"]
    assert len(runs) == before + 1
    assert runs[0]["entity"] == "component:default/ledger" and runs[0]["status"] == "finished"


def test_refresh_without_a_token_is_a_usage_error(server: Any) -> None:
    result = gate(
        "--server", server.url, "--entity", "ledger", "--refresh",
        "--track", "basics", "--require", "gold",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "bearer token" in result.stderr


def test_unknown_track_or_entity_on_the_server(server: Any) -> None:
    no_track = gate("--server", server.url, "--entity", "ledger", "--track", "x", "--require", "y")
    no_entity = gate(
        "--server", server.url, "--entity", "nobody", "--track", "basics", "--require", "gold"
    )
    assert no_track.exit_code == 2 and "unknown track 'x'" in no_track.stderr
    assert no_entity.exit_code == 2 and "has not been evaluated" in no_entity.stderr


def test_nothing_listening_is_exit_3(free_port: int) -> None:
    result = gate(
        "--server", f"http://127.0.0.1:{free_port}", "--entity", "ledger",
        "--track", "basics", "--require", "gold",
    )  # fmt: skip
    assert result.exit_code == 3
    assert f"cannot reach http://127.0.0.1:{free_port}" in result.stderr


def test_baseline_against_the_server(server: Any, tmp_path: Any, monkeypatch: Any) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)  # no workspace file: the bundled tracks, as on the server
    repo = tmp_path / "checkout-web"
    shutil.copytree(server.workspace_dir / "catalog" / "repos" / "checkout-web", repo)
    (repo / "docs").mkdir(exist_ok=True)
    (repo / "docs" / "runbook.md").write_text("# Runbook\n\nRoll back with `make rollback`.\n")
    result = gate(
        "--repo", repo, "--baseline", "--server", server.url,
        "--track", "production-readiness", "--require", "silver",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "raises production-readiness from bronze to silver" in result.stdout
    assert "has_runbook: fail → pass" in result.stdout
