"""Catalog data past the file reader: a catalog API's JSON, the operator's own YAML, and a
run over entities no loader checked. One odd document never fails a listing or a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from scorecard.catalog import read_backstage
from scorecard.catalog.safe_yaml import MAX_DEPTH
from scorecard.entity import Entity
from scorecard.planner import plan
from scorecard.problems import ConfigError
from scorecard.registry import CheckRegistry
from scorecard.runner import run_and_store
from scorecard.store import Store
from scorecard.tracks import load_track

BASE = "http://backstage.test:7007"
TRACK = """apiVersion: scorecard/v1
kind: Track
id: basics
title: Basics
filter: {kind: Component, spec.type: service}
levels:
  - id: bronze
    checks: [has_owner]
"""


def item(name: str, spec: str = '{"owner": "team-a"}') -> str:
    return (
        '{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", '
        f'"metadata": {{"name": "{name}"}}, "spec": {spec}}}'
    )


def page(*items: str) -> httpx.MockTransport:
    body = '{"items": [' + ", ".join(items) + '], "pageInfo": {}}'
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body.encode()))


def deep_json(depth: int) -> str:
    return '{"x": ' + "[" * depth + "1" + "]" * depth + "}"


# The Backstage API source


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ('{"replicas": ' + "9" * 5000 + "}", "an integer of 5,000 digits is longer than"),
        ('{"ratio": NaN}', "'NaN' is not a finite number"),
        ('{"ratio": 1e999}', "'1e999' is not a finite number"),
        (deep_json(MAX_DEPTH), f"nested more than {MAX_DEPTH} levels deep"),
    ],
    ids=["long integer", "NaN", "overflow", "deep"],
)
def test_a_bad_item_of_a_catalog_api_costs_only_itself(spec: str, reason: str) -> None:
    listing = read_backstage(
        BASE, None, transport=page(item("first"), item("bad", spec), item("third"))
    )

    assert [entity.name for entity in listing.entities] == ["first", "third"]
    [problem] = listing.problems
    assert problem.message.startswith("page 1 item 2 is not read: ")
    assert reason in problem.message
    assert listing.complete


def test_json_nested_deeper_than_python_reads_is_a_problem_not_a_crash() -> None:
    transport = page(item("first"), item("bad", deep_json(100_000)))

    with pytest.raises(ConfigError, match="JSON nested too deeply to read"):
        read_backstage(BASE, None, transport=transport, retries=0)


# The operator's own YAML: tracks and scorecard.yaml


BOMB = "".join(
    [
        '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)),
    ]
)


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("x-anchors:\n" + BOMB, 15, "with its aliases expanded it would be about"),
        ("x-big: " + "1" * 5000 + "\n", 9, "an integer of 5,000 characters is longer than"),
        ("x-date: 2024-02-30\n", 1, "invalid value: day is out of range for month"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", None, "nested too deeply to parse"),
    ],
    ids=["alias bomb", "long integer", "impossible date", "deep"],
)
def test_a_hostile_track_file_is_a_config_error(
    tmp_path: Path, registry: CheckRegistry, extra: str, line: int | None, message: str
) -> None:
    track = tmp_path / "track.yaml"
    track.write_text(TRACK + extra)

    with pytest.raises(ConfigError) as raised:
        load_track(track, registry)

    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(track), line)
    assert message in problem.message


def test_a_fifo_for_a_track_file_does_not_hang(tmp_path: Path, registry: CheckRegistry) -> None:
    os.mkfifo(tmp_path / "track.yaml")

    with pytest.raises(ConfigError, match="is not a regular file but a FIFO"):
        load_track(tmp_path / "track.yaml", registry)


# A run over entities that no loader checked (a plugin's source, a test's catalog)


def component(name: str, **spec: Any) -> Entity:
    raw = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "service", "owner": "team-a", **spec},
    }
    return Entity(raw, source=f"{name}.yaml")


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Any:
    (tmp_path / "track.yaml").write_text(TRACK)
    return load_track(tmp_path / "track.yaml", registry)


def test_an_entity_the_filters_cannot_read_is_left_out_of_the_plan(track: Any) -> None:
    odd = component("odd")
    odd.raw["spec"]["type"] = 10**5000  # no filter can print it
    problems: list[Any] = []

    plans = plan([odd, component("ok")], [track], problems)

    assert [p.entity.name for p in plans] == ["ok"]
    [problem] = problems
    assert problem.file == "odd.yaml"
    assert problem.message.startswith("component:default/odd is not evaluated: ValueError")


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"replicas": 10**5000}, id="integer too long to print"),
        pytest.param({"since": {b"binary": 1}}, id="key JSON cannot hold"),
    ],
)
def test_an_entity_the_store_cannot_write_is_a_problem_not_a_failed_run(
    store_url: str, track: Any, odd: dict[str, Any]
) -> None:
    entities = [component("odd", **odd), component("ok")]

    with Store(store_url) as store:
        stored = run_and_store(store, entities, [track], trigger="test", catalog_complete=True)
        run = store.latest_run()
        kept = store.entity("component:default/ok")
        dropped = store.entity("component:default/odd")

    assert run is not None and run.status == "finished"
    assert kept is not None and dropped is None
    assert [e.name for e in stored.report.entities] == ["ok"]
    assert {r.entity_ref for r in stored.report.results} == {"component:default/ok"}
    [problem] = stored.report.problems
    assert problem.file == "odd.yaml"
    assert problem.message.startswith("component:default/odd is not stored: ")


def test_a_number_json_cannot_hold_is_stored_as_null_on_every_backend(
    store_url: str, track: Any
) -> None:
    """NaN and infinities come from no catalog file (the reader refuses them) but may from
    a JSON source that lets them through: stored as JSON's null, alike on SQLite and
    PostgreSQL (which refuses them in JSON), rather than the entity lost."""
    entities = [component("odd", ratio=float("nan"), limit=float("inf")), component("ok")]

    with Store(store_url) as store:
        stored = run_and_store(store, entities, [track], trigger="test")
        odd = store.entity("component:default/odd")

    assert stored.report.problems == []
    assert odd is not None
    assert (odd.raw["spec"]["ratio"], odd.raw["spec"]["limit"]) == (None, None)
