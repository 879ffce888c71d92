"""`executor:` in scorecard.yaml: the celery executor refuses what cannot work, and a
workspace without it works as before."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.problems import ConfigError
from scorecard.workspace import Workspace


def workspace_file(root: Path, **config: object) -> Path:
    (root / "catalog.yaml").write_text("")
    path = root / "scorecard.yaml"
    path.write_text(yaml.safe_dump({"catalog": ["catalog.yaml"], **config}))
    return path


def test_the_local_executor_is_the_default(tmp_path: Path) -> None:
    workspace = Workspace.load(workspace_file(tmp_path))
    assert workspace.executor.kind == "local" and not workspace.executor.distributed


def test_celery_refuses_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    path = workspace_file(
        tmp_path, executor={"kind": "celery", "broker": "amqp://guest:guest@127.0.0.1//"}
    )
    with pytest.raises(ConfigError) as error:
        Workspace.load(path)
    message = str(error.value)
    assert f"{path}: database: the celery executor needs a database every worker reaches" in message
    assert "postgresql://" in message


def test_celery_needs_a_broker(tmp_path: Path) -> None:
    path = workspace_file(
        tmp_path, executor={"kind": "celery"}, database="postgresql://db.internal/scorecard"
    )
    with pytest.raises(ConfigError, match=r"executor\.broker: the celery executor needs a broker"):
        Workspace.load(path)


def test_a_broker_in_the_environment_sends_runs_to_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORECARD_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SCORECARD_DATABASE_URL", "postgresql://db.internal/scorecard")
    executor = Workspace.load(workspace_file(tmp_path)).executor
    assert (executor.kind, executor.broker) == ("celery", "redis://127.0.0.1:6379/0")


@pytest.mark.parametrize(
    ("executor", "where"),
    [
        ({"kind": "threads"}, "executor.kind"),
        ({"kind": "celery", "shard_size": 0}, "executor.shard_size"),
        ({"kind": "celery", "brokr": "amqp://x"}, "executor.brokr"),
    ],
)
def test_executor_typos_name_their_key(tmp_path: Path, executor: dict, where: str) -> None:
    path = workspace_file(tmp_path, executor=executor, database="postgresql://db/x")
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        Workspace.load(path)


def test_a_worker_of_a_local_workspace_says_what_to_configure(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(workspace_file(tmp_path)), "worker"])
    assert result.exit_code == 2
    assert "executor.kind is local" in result.output
