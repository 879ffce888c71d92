"""The executor isolates failures: a crash or a timeout is an `error`, the run goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.registry import CheckRegistry, build_registry
from scorecard.results import Outcome
from scorecard.runner import evaluate
from scorecard.tracks import Track, load_track


@pytest.fixture(scope="module")
def faulty_registry(data_dir: Path) -> CheckRegistry:
    return build_registry([data_dir / "faulty_checks"], plugins=False)


@pytest.fixture(scope="module")
def faulty_track(faulty_registry: CheckRegistry, data_dir: Path) -> Track:
    return load_track(data_dir / "tracks" / "faulty.yaml", faulty_registry)


def _entities(tmp_path: Path, count: int, **annotations: str) -> list[Entity]:
    entities = []
    for i in range(count):
        folder = tmp_path / f"repo{i % 2}"
        folder.mkdir(exist_ok=True)
        document = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"svc-{i}", "annotations": dict(annotations)},
            "spec": {"owner": "team-a"},
        }
        entities.append(Entity(document, source=folder / "catalog-info.yaml"))
    return entities


def test_crashes_and_timeouts_become_errors_and_the_rest_is_kept(
    tmp_path: Path, faulty_track: Track
) -> None:
    entities = _entities(tmp_path, 6)
    started = time.monotonic()
    report = evaluate(entities, [faulty_track], concurrency=8, timeout=0.3)
    elapsed = time.monotonic() - started
    assert elapsed < 5, "timed-out checks must not hold the run"

    outcomes = {(r.entity_ref, r.check_id): r.result for r in report.results}
    assert len(outcomes) == 6 * 8
    for entity in entities:
        assert outcomes[entity.ref, "has_owner"].outcome is Outcome.PASS
        assert outcomes[entity.ref, "async_ok"].outcome is Outcome.PASS
        crashed = outcomes[entity.ref, "crashes"]
        assert crashed.outcome is Outcome.ERROR
        assert "RuntimeError: cannot handle svc-" in crashed.message
        assert crashed.evidence == {"exception": "RuntimeError"}
        for slow in ("hangs", "blocks"):
            assert outcomes[entity.ref, slow].outcome is Outcome.ERROR
            assert "did not finish within 0.3 seconds" in outcomes[entity.ref, slow].message
        assert outcomes[entity.ref, "wrong_type"].outcome is Outcome.ERROR
        assert "returned str" in outcomes[entity.ref, "wrong_type"].message
    assert {c.level for c in report.certifications} == {None}


def test_an_input_is_built_once_and_shared(tmp_path: Path, faulty_track: Track) -> None:
    entities = _entities(tmp_path, 4)  # two entities per repository folder
    report = evaluate(entities, [faulty_track], timeout=0.3)
    seen = {
        (r.entity_ref, r.check_id): r.result.evidence["repo"]
        for r in report.results
        if r.check_id.startswith("repo_identity")
    }
    for entity in entities:
        assert seen[entity.ref, "repo_identity"] == seen[entity.ref, "repo_identity_again"]
    # entities 0 and 2 live in repo0, 1 and 3 in repo1
    assert seen[entities[0].ref, "repo_identity"] == seen[entities[2].ref, "repo_identity"]
    assert seen[entities[0].ref, "repo_identity"] != seen[entities[1].ref, "repo_identity"]


def test_an_unreadable_repository_is_unknown_not_fail(tmp_path: Path, faulty_track: Track) -> None:
    remote = {"backstage.io/source-location": "url:https://github.com/acme/x"}
    (entity,) = _entities(tmp_path, 1, **remote)
    report = evaluate([entity], [faulty_track], timeout=0.3)
    by_check = {r.check_id: r.result for r in report.results}
    for name in ("repo_identity", "repo_identity_again"):
        assert by_check[name].outcome is Outcome.UNKNOWN
        assert "repository could not be read" in by_check[name].message
        assert "github.com/acme/x" in by_check[name].message
    assert by_check["has_owner"].outcome is Outcome.PASS


def test_optional_failures_are_warnings(registry: CheckRegistry, data_dir: Path) -> None:
    track = load_track(data_dir / "tracks" / "valid.yaml", registry)
    entity = Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "a", "tags": ["one"]},
            "spec": {"type": "service", "owner": "team-a"},
        },
        source=data_dir / "tracks" / "valid.yaml",
    )
    report = evaluate([entity], [track])
    by_check = {r.check_id: r for r in report.results}
    assert by_check["has_tags"].outcome is Outcome.WARN
    assert by_check["has_tags"].required is False
    assert by_check["has_owner"].outcome is Outcome.PASS
    (cert,) = report.certifications
    assert (cert.level, cert.next_level) == ("bronze", "silver")


ODD_RESULTS = """
from scorecard.results import Outcome, Result
from scorecard.sdk import check


@check(id="no_sentence", title="Returns no sentence", remediation="None.", description="x")
def no_sentence(entity):
    return Result(Outcome.PASS, None)


@check(id="listed_evidence", title="Evidence as a list", remediation="None.", description="x")
async def listed_evidence(entity):
    return Result(Outcome.FAIL, "A sentence.", ["not", "a", "mapping"])
"""

ODD_TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: odd
title: Odd results
levels:
  - id: bronze
    checks: [has_owner, no_sentence, listed_evidence]
"""


def test_a_result_the_store_cannot_keep_is_an_error_and_the_rest_is_kept(tmp_path: Path) -> None:
    """A `Result` whose message is not text or whose evidence is not a mapping would
    break packing and every reader after it: it becomes an `error` naming what came."""
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "odd_checks.py").write_text(ODD_RESULTS)
    (tmp_path / "odd.yaml").write_text(ODD_TRACK)
    track = load_track(tmp_path / "odd.yaml", build_registry([tmp_path / "odd"], plugins=False))
    entities = _entities(tmp_path, 3)

    report = evaluate(entities, [track])

    found = {(r.entity_ref, r.check_id): r.result for r in report.results}
    for entity in entities:
        assert found[entity.ref, "has_owner"].outcome is Outcome.PASS
        no_sentence = found[entity.ref, "no_sentence"]
        assert no_sentence.outcome is Outcome.ERROR
        assert "message is NoneType" in no_sentence.message
        listed = found[entity.ref, "listed_evidence"]
        assert listed.outcome is Outcome.ERROR
        assert listed.evidence == {"message_type": "str", "evidence_type": "list"}
