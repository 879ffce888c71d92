"""What a command imports before it does its work.

Each case runs the command in a fresh interpreter and lists the modules it loaded: a
command that never serves the API nor opens the database must not import the libraries
that do (how long start-up takes is bench row 12's business, not a test's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scorecard

# Only `scorecard serve` and the commands that open the database need these.
SERVING = (
    "alembic",
    "fastapi",
    "jinja2",
    "prometheus_client",
    "sqlalchemy",
    "sqlmodel",
    "starlette",
    "uvicorn",
)

# Runs the command line as `python -m scorecard ARGS` would, then prints its exit code and
# which of the named modules it loaded.
RUN = """
import json, sys
from scorecard.cli import main
names, sys.argv = json.loads(sys.argv[1]), ["scorecard", *sys.argv[2:]]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": [n for n in names if n in sys.modules]}))
"""

CATALOG_FILE = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: Takes payments for the web shop and the mobile apps, and refunds them.
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
"""


def imported(folder: Path, names: tuple[str, ...], *args: str) -> tuple[int, list[str]]:
    """Run `scorecard ARGS` in `folder` (with no workspace file): exit code, loaded names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORECARD_")}
    done = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(names), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    return report["code"], report["loaded"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "payments"
    folder.mkdir()
    (folder / "catalog-info.yaml").write_text(CATALOG_FILE)
    return folder


def test_help_imports_no_command_s_libraries(tmp_path: Path) -> None:
    # Help needs typer and rich; not even the check SDK's pydantic or the YAML reader.
    names = (*SERVING, "apscheduler", "httpx", "pydantic", "yaml")
    assert imported(tmp_path, names, "--help") == (0, [])


def test_validate_imports_neither_the_api_nor_the_database(tmp_path: Path) -> None:
    # It reads the demo workspace's tracks: YAML, pydantic and cron schedules are its own.
    assert imported(tmp_path, (*SERVING, "httpx"), "validate") == (0, [])


def test_a_local_gate_imports_neither_the_api_nor_the_database(tmp_path: Path, repo: Path) -> None:
    args = ("gate", "--track", "production-readiness", "--require", "bronze", "--repo", str(repo))
    code, loaded = imported(tmp_path, (*SERVING, "httpx"), *args)
    assert (code, loaded) == (1, [])  # no CI configuration: below bronze


def test_a_local_run_never_imports_celery(tmp_path: Path) -> None:
    # The celery executor is an optional extra: the local executor must not need it.
    names = ("celery", "kombu")
    code, loaded = imported(tmp_path, names, "run", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert (code, loaded) == (0, [])


def test_the_check_sdk_is_exported_from_the_package() -> None:
    namespace: dict[str, object] = {}
    exec("from scorecard import *", namespace)
    for name in scorecard.__all__:
        assert namespace[name] is getattr(scorecard, name)
    assert scorecard.check.__module__ == "scorecard.sdk"
    assert set(scorecard.__all__) <= set(dir(scorecard))
    with pytest.raises(AttributeError, match="no attribute 'chek'"):
        scorecard.chek  # noqa: B018
