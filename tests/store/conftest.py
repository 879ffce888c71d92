"""A store on each backend, and reports built from compact tables of results."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from scorecard.entity import Entity
from scorecard.problems import Problem
from scorecard.report import Certification, CheckResult, RunReport
from scorecard.results import Outcome, Result
from scorecard.store import Store, WriteStats

# (entity name, track id, check id) -> the outcome, or the full result.
Results = Mapping[tuple[str, str, str], Outcome | Result]
# (entity name, track id) -> level, or (level, next level).
Levels = Mapping[tuple[str, str], str | tuple[str | None, str | None] | None]


def _ref(name: str) -> str:
    return f"component:default/{name}"


def _entity(name: str, **metadata: Any) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, **metadata},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
        },
        source=f"catalog/{name}.yaml",
    )


def _make_report(
    results: Results,
    levels: Levels | None = None,
    *,
    entities: list[Entity] | None = None,
    check_levels: Mapping[str, str] | None = None,
    problems: list[Problem] | None = None,
) -> RunReport:
    """A report on the entities named in `results` (plain components unless `entities`
    gives their documents); checks sit in level `bronze` unless `check_levels` says."""
    names = sorted({name for name, _, _ in results} | {name for name, _ in levels or {}})
    documents = entities if entities is not None else [_entity(name) for name in names]
    check_results = [
        CheckResult(
            entity_ref=_ref(name),
            track_id=track,
            check_id=check,
            level_id=(check_levels or {}).get(check, "bronze"),
            required=True,
            result=value if isinstance(value, Result) else Result(value, f"{check} is {value}."),
        )
        for (name, track, check), value in results.items()
    ]
    certifications = [
        Certification(_ref(name), track, *(level if isinstance(level, tuple) else (level, None)))
        for (name, track), level in (levels or {}).items()
    ]
    return RunReport.of(
        datetime.now(UTC),
        finished_at=datetime.now(UTC),
        entities=documents,
        results=check_results,
        certifications=certifications,
        problems=problems or [],
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def save(store: Store) -> Callable[[RunReport], WriteStats]:
    """Save a report as a new run."""

    def save(report: RunReport) -> WriteStats:
        return store.save_run(store.start_run("cli"), report)

    return save


@pytest.fixture
def make_entity() -> Callable[..., Entity]:
    """`make_entity(name, **metadata)`: a component owned by team-a, read from a file."""
    return _entity


@pytest.fixture
def make_report() -> Callable[..., RunReport]:
    """`make_report(results, levels, ...)`: a report built from tables of outcomes."""
    return _make_report
