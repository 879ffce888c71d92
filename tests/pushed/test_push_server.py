"""Results pushed through a real server on loopback: a coverage figure under the
threshold fails the check and drops the entity a level in the same request; a batch
with one bad item is refused whole and writes nothing; a result past its check's
`max_age` turns `unknown` on time, with nobody pushing and no run evaluating."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scorecard.cli import app
from scorecard.workspace import Workspace
from tests.pushed.conftest import PAYMENTS, write_workspace
from tests.serving import ServedApp
from tests.tokens import Tokens, client

API = "/api/v1/entities/component/default/payments"
TABLES = (
    "pushed_result", "certification", "pair_result", "result_change",
    "certification_change", "run", "outbox_event", "audit_log",
)  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pushed")


@pytest.fixture(scope="module")
def served(root: Path, tokens: Tokens) -> Iterator[ServedApp]:
    config = write_workspace(root, f"sqlite:///{root / 'scorecard.db'}")
    # With the scheduler: a result passing its max_age is acted on at that instant.
    with ServedApp(Workspace.load(config), schedule=True) as app:
        yield app


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as connection:
        return {
            table: sorted(map(tuple, connection.execute(f"SELECT * FROM {table}")), key=repr)
            for table in TABLES
        }


def levels(url: str, token: str) -> dict[str, str | None]:
    with client(url, token) as http:
        return {t["track"]: t["level"] for t in http.get(API).json()["tracks"]}


def result(url: str, token: str, track: str, check: str) -> dict[str, object]:
    with client(url, token) as http:
        found = http.get(
            "/api/v1/results", params={"entity": PAYMENTS, "track": track, "check": check}
        ).json()["items"]
    assert len(found) == 1, found
    return found[0]


def wait_for_startup(url: str, token: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with client(url, token) as http:
            response = http.get(API)
            if response.status_code == 200 and response.json()["tracks"]:
                return
        time.sleep(0.2)
    raise AssertionError("the startup run stored nothing")


def test_a_coverage_value_under_the_threshold_fails_the_check_and_drops_a_level_at_once(
    served: ServedApp, tokens: Tokens
) -> None:
    url = served.url
    wait_for_startup(url, tokens.reader)
    # Before anything is pushed, the check is unknown: it holds silver back.
    assert levels(url, tokens.reader)["quality"] == "bronze"
    coverage = result(url, tokens.reader, "quality", "coverage")
    assert coverage["outcome"] == "unknown"
    assert "no result reported" in str(coverage["message"])

    body = {"results": [{"entity": "payments", "check": "coverage", "value": 91.5,
                         "message": "Line coverage is 91.5%."}]}  # fmt: skip
    with client(url) as anonymous:
        assert anonymous.post("/api/v1/results", json=body).status_code == 401
    with client(url, tokens.reader) as reader:
        refused = reader.post("/api/v1/results", json=body)
        assert refused.status_code == 403
        assert "reader" in refused.json()["detail"]
    with client(url, tokens.runner) as runner:
        pushed = runner.post("/api/v1/results", json=body)
    assert pushed.status_code == 201, pushed.text
    answer = pushed.json()
    assert answer["results"] == [
        {
            "entity": PAYMENTS, "track": "quality", "check": "coverage", "outcome": "pass",
            "message": "Line coverage is 91.5% (value 91.5; passes when >= 80).",
            "value": 91.5, "level": "silver", "previous_level": "bronze",
        }
    ]  # fmt: skip
    assert levels(url, tokens.reader)["quality"] == "silver"

    # A pipeline reports 72 with `scorecard push`: under the threshold, the check fails,
    # and the exit code says so, as `scorecard gate`'s does.
    failed = CliRunner().invoke(
        app,
        ["push", "--server", url, "--entity", PAYMENTS, "--check", "coverage",
         "--value", "72", "--message", "Line coverage is 72%.", "--format", "json"],
        env={"SCORECARD_API_TOKEN": tokens.runner},
    )  # fmt: skip
    assert failed.exit_code == 1, failed.output
    answer = json.loads(failed.stdout)
    assert answer["results"][0]["outcome"] == "fail"
    assert answer["results"][0]["level"] == "bronze"
    assert answer["results"][0]["previous_level"] == "silver"
    # The level dropped within the request: the API, the badge and the history say so.
    assert levels(url, tokens.reader)["quality"] == "bronze"
    stored = result(url, tokens.reader, "quality", "coverage")
    assert stored["outcome"] == "fail"
    assert stored["message"] == "Line coverage is 72% (value 72; passes when >= 80)."
    assert stored["evidence"]["value"] == 72
    assert stored["evidence"]["threshold"] == {"pass_when": ">= 80"}
    assert stored["evidence"]["reported_by"] == "ci"
    with client(url, tokens.reader) as http:
        history = http.get(f"{API}/history").json()
        runs = {run["id"]: run for run in http.get("/api/v1/runs").json()["items"]}
        badge = http.get("/badges/component/default/payments/quality.svg").text
    assert "bronze" in badge
    lost = [c for c in history["certifications"] if c["level"] == "bronze" and c["previous_level"]]
    assert lost and runs[lost[-1]["run_id"]]["trigger"] == "push"


def test_a_batch_with_one_bad_item_is_refused_whole_and_writes_nothing(
    served: ServedApp, tokens: Tokens, root: Path
) -> None:
    url = served.url
    wait_for_startup(url, tokens.reader)
    before = snapshot(root / "scorecard.db")
    body = {
        "results": [
            {"entity": "payments", "track": "quality", "check": "sast", "outcome": "pass"},
            {"entity": "payments", "check": "no-such-check", "outcome": "pass"},
            {"entity": "component:default/nowhere", "check": "sast", "outcome": "pass"},
            {"entity": "ledger", "track": "quality", "check": "coverage", "outcome": "pass"},
            {"entity": "ledger", "track": "quality", "check": "has_owner", "outcome": "pass"},
            {"entity": "shared-lib", "track": "quality", "check": "sast", "outcome": "pass"},
            {"entity": "ledger", "track": "quality", "check": "sast", "outcome": "warn"},
        ]
    }
    with client(url, tokens.runner) as runner:
        refused = runner.post("/api/v1/results", json=body)
    # `warn` is no outcome a tool may report: the request's schema refuses it.
    assert refused.status_code == 422, refused.text
    assert any("results" in e and "6" in e and "outcome" in e for e in refused.json()["errors"])
    # Without the item the schema refuses, the rest is judged item by item.
    body["results"].pop()
    with client(url, tokens.runner) as runner:
        refused = runner.post("/api/v1/results", json=body)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [error.split(":")[0] for error in errors] == [
        "results[1].check", "results[2].entity", "results[3].value", "results[4].check",
        "results[5].track",
    ]  # fmt: skip
    assert "no-such-check" in errors[0]
    assert "nowhere" in errors[1]
    assert ">= 80" in errors[2]
    assert "not pushed" in errors[3]
    assert "does not apply" in errors[4]
    assert snapshot(root / "scorecard.db") == before


def test_a_result_past_its_max_age_turns_unknown_on_time_with_no_push_and_no_run(
    served: ServedApp, tokens: Tokens
) -> None:
    url = served.url
    wait_for_startup(url, tokens.reader)
    body = {"results": [{"entity": "payments", "check": "load-test", "outcome": "pass",
                         "message": "p99 latency 180 ms at 2,000 requests a second."}]}  # fmt: skip
    with client(url, tokens.runner) as runner:
        pushed = runner.post("/api/v1/results", json=body)
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["results"][0]["level"] == "bronze"
    pushed_run = pushed.json()["run_id"]
    assert levels(url, tokens.reader)["release"] == "bronze"
    # Three seconds later nobody has pushed again: the result no longer counts.
    deadline = time.monotonic() + 20
    while levels(url, tokens.reader)["release"] is not None:
        assert time.monotonic() < deadline, "the level did not drop after max_age"
        time.sleep(0.25)
    stale = result(url, tokens.reader, "release", "load-test")
    assert stale["outcome"] == "unknown"
    assert "no result reported for load-test since" in str(stale["message"])
    with client(url, tokens.reader) as http:
        later = [r for r in http.get("/api/v1/runs").json()["items"] if r["id"] > pushed_run]
    # No evaluation ran and nobody pushed: the change is recorded as the max_age passing.
    assert [r["trigger"] for r in later] == ["max-age"]


def test_scorecard_push_takes_a_file_and_says_what_went_wrong_by_its_exit_code(
    served: ServedApp, tokens: Tokens, tmp_path: Path
) -> None:
    url = served.url
    wait_for_startup(url, tokens.reader)
    env = {"SCORECARD_API_TOKEN": tokens.runner}
    now = datetime.now(UTC)
    observed = (now - timedelta(hours=1)).replace(microsecond=0)
    batch = tmp_path / "results.json"
    batch.write_text(
        json.dumps(
            [
                {"entity": "ledger", "check": "sast", "outcome": "pass",
                 "observed_at": (now - timedelta(hours=2)).isoformat()},
                {"entity": "ledger", "check": "coverage", "value": 88},
            ]
        )
    )  # fmt: skip
    cli = CliRunner()
    passed = cli.invoke(app, ["push", "--server", url, "--file", str(batch)], env=env)
    assert passed.exit_code == 0, passed.output
    assert "component:default/ledger" in passed.stdout and "gold" in passed.stdout
    flagged = cli.invoke(
        app,
        ["push", "--server", url, "--entity", "ledger", "--check", "sast", "--outcome",
         "fail", "--evidence", "report=https://ci.example.com/r/9", "--evidence", "findings=3",
         "--observed-at", observed.strftime("%Y-%m-%dT%H:%M:%S%z")],
        env=env,
    )  # fmt: skip
    assert flagged.exit_code == 1, flagged.output
    stored = next(
        r
        for r in client(url, tokens.reader)
        .get("/api/v1/results", params={"entity": "ledger", "check": "sast"})
        .json()["items"]
    )
    assert stored["evidence"]["findings"] == 3
    assert stored["evidence"]["report"] == "https://ci.example.com/r/9"
    assert stored["evidence"]["observed_at"] == observed.isoformat()
    # Refused (2): a check the server does not have, named; flags and a file together.
    refused = cli.invoke(
        app, ["push", "--server", url, "--entity", "ledger", "--check", "nope", "--outcome",
              "pass"], env=env,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "results[0].check" in refused.output and "nope" in refused.output
    both = cli.invoke(
        app, ["push", "--server", url, "--file", str(batch), "--entity", "ledger"], env=env
    )
    assert both.exit_code == 2 and "not both" in both.output
    # Unreachable (3).
    gone = cli.invoke(
        app, ["push", "--server", "http://127.0.0.1:9", "--entity", "ledger", "--check",
              "sast", "--outcome", "pass"], env=env,
    )  # fmt: skip
    assert gone.exit_code == 3 and "cannot reach" in gone.output
