"""Notification rules: how `scorecard.yaml` names them (errors with FILE:LINE:COL), and
which events each routes to which targets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.notify import events as kinds
from scorecard.notify.routing import Context, Routed, route
from scorecard.problems import ConfigError
from scorecard.workspace import NotificationsConfig, Workspace

BASE = "catalog: catalog-info.yaml\n"


def load(tmp_path: Path, text: str) -> Workspace:
    path = tmp_path / "scorecard.yaml"
    path.write_text(BASE + text)
    return Workspace.from_file(path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "notifications:\n  targets: [{name: hook, url_env: HOOK}]\n"
            "  rules: [{events: [certification.lost], targets: [hoook]}]\n",
            ":4:",
        ),
        (
            "notifications:\n  targets: [{name: hook, url_env: HOOK}]\n"
            "  rules:\n    - {events: [level.lost], targets: [hook]}\n",
            ":5:",
        ),
        (
            "notifications:\n  targets:\n    - {name: hook}\n",
            ":4:",
        ),
        (
            "notifications:\n  targets: [{name: hook, url_env: HOOK}]\n"
            "  rules:\n    - {events: ['*'], targets: [hook], colour: red}\n",
            ":5:",
        ),
        (
            "notifications:\n  targets: [{name: hook, url_env: HOOK}]\n"
            "  owners: {group:default/data: slack}\n",
            ":4:",
        ),
    ],
    ids=["unknown target", "unknown event", "no url", "unknown key", "owner to unknown target"],
)
def test_bad_rules_are_reported_with_file_line_and_column(
    tmp_path: Path, text: str, where: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    shown = [str(problem) for problem in refused.value.problems]
    assert any(f"scorecard.yaml{where}" in line for line in shown), shown


def _event(
    id: int, kind: str, ref: str | None = "component:default/a", run: int | None = 7
) -> Routed:
    return Routed(id, f"k{id}", kind, run, ref, "ops", None, {"from": "silver", "to": "bronze"})


CONTEXT = Context(
    tracks={},
    owners={
        "component:default/a": "group:default/data",
        "component:default/b": "group:default/web",
    },
    documents={
        "component:default/a": Entity(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "a"},
                "spec": {"type": "service"},
            }
        ),
        "component:default/b": Entity(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "b"},
                "spec": {"type": "website"},
            }
        ),
    },
    public_url="https://scorecard.example.com",
    campaign_titles={},
)


def test_rules_route_by_event_owner_filter_and_owner_mapping() -> None:
    config = NotificationsConfig.model_validate(
        {
            "targets": [
                {"name": "platform", "url": "json://localhost/p"},
                {"name": "data", "url": "json://localhost/d"},
                {"name": "web", "url": "json://localhost/w"},
            ],
            "owners": {"Group:default/Data": "data"},
            "rules": [
                {
                    "events": ["certification.*"],
                    "targets": ["platform"],
                    "filter": {"spec.type": "service"},
                },
                {"events": ["check.failing"], "to_owner": True},
                {"events": ["run.failed"], "owners": ["group:default/web"], "targets": ["web"]},
            ],
        }
    )
    found = route(
        [
            _event(1, kinds.CERTIFICATION_LOST),
            _event(2, kinds.CERTIFICATION_LOST, "component:default/b"),
            _event(3, kinds.CHECK_FAILING),
            _event(4, kinds.CHECK_FAILING, "component:default/b"),  # web has no mapping
            _event(5, kinds.RUN_FAILED, None),
        ],
        config,
        CONTEXT,
    )
    assert sorted((m.target, m.events) for m in found) == [("data", (3,)), ("platform", (1,))]
    assert all(len(m.key) == 32 for m in found)
    page = "https://scorecard.example.com/catalog/component/default/a"
    assert page in next(m.body for m in found if m.target == "platform")


def test_a_digest_is_one_message_per_target_and_run_and_keys_are_stable() -> None:
    config = NotificationsConfig.model_validate(
        {
            "targets": [{"name": "digest", "url": "json://localhost/d"}],
            "rules": [{"events": ["*"], "targets": ["digest"], "digest": True}],
        }
    )
    batch = [_event(i, kinds.CERTIFICATION_LOST) for i in range(1, 6)]
    batch.append(_event(6, kinds.CERTIFICATION_LOST, run=8))
    batch.append(_event(7, kinds.RUN_FAILED, None, run=None))
    found = route(batch, config, CONTEXT)
    assert sorted(m.events for m in found) == [(1, 2, 3, 4, 5), (6,), (7,)]
    again = route(batch, config, CONTEXT)
    assert sorted(m.key for m in again) == sorted(m.key for m in found)
    digest = next(m for m in found if m.events == (1, 2, 3, 4, 5))
    assert digest.title == "Run 7: 5 levels lost" and digest.body.count("\n") == 4


def test_events_are_written_once_per_key(tmp_path: Path) -> None:
    from scorecard.notify.events import Event, emit
    from scorecard.store import Store

    with Store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        now = datetime.now(UTC)
        for _ in range(2):
            with store.transaction() as session:
                emit(
                    session,
                    [Event(kinds.RUN_FAILED, "run.failed:3", now, 3, data={"failure": "x"})],
                )
        assert [e.key for e in store.outbox()] == ["run.failed:3"]
