"""Pull requests at scale: fixes planned from a real store (filled by a real run over the
scene of tests/fixes/remote_scene.py) and opened on the fake GitHub, through the library
and through `open_prs`, the CLI's half of `scorecard fix --open-prs`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from scorecard.catalog import read_catalog
from scorecard.cli.fix_prs import open_prs
from scorecard.entity import Entity
from scorecard.fixes import remote
from scorecard.fixes.locations import UnknownCatalogPath, catalog_path
from scorecard.fixes.pr_text import escaped
from scorecard.fixes.remote import (
    AUDIT_ACTION,
    FixPullRequestsReport,
    fix_target,
    open_fix_prs_sync,
    plans_from_store,
    read_plans,
)
from scorecard.gate.local import load_all_tracks
from scorecard.problems import ConfigError
from scorecard.runner import run_and_store
from scorecard.sources.github import GitHubClient
from scorecard.store import Store
from scorecard.store import exemptions as stored_exemptions
from scorecard.store.ratelimits import SharedRateLimit
from scorecard.tracks import Track
from scorecard.workspace import Workspace
from tests.databases import BACKENDS, database
from tests.fixes.github_api import FORBIDDEN, RATE_LIMITED, FakeGitHub
from tests.fixes.remote_scene import (
    HAND_WRITTEN_MKDOCS,
    PAGERDUTY,
    PUBLIC_URL,
    TECHDOCS,
    TRACK_ID,
    seed_repositories,
    write_workspace,
)

TOKEN = "ghp_remote_fixes_test"
REPOSITORIES = ["acme/ledger", "acme/payments", "acme/search"]


def ref(name: str) -> str:
    return f"component:default/{name}"


@dataclass
class Scene:
    workspace: Workspace
    store: Store
    tracks: dict[str, Track]


@pytest.fixture(scope="module", params=BACKENDS)
def scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """The workspace's store after one run, with the exemption of `reports` approved."""
    root = tmp_path_factory.mktemp("remote-fixes")
    with database(request.param, root) as url:
        workspace = Workspace.load(write_workspace(root, url))
        tracks = load_all_tracks(workspace)
        with Store(workspace.database) as store:
            listing = read_catalog([root / "catalog-info.yaml"])
            assert not listing.problems
            run_and_store(store, listing.entities, list(tracks.values()), trigger="test")
            now = datetime.now(UTC)
            with store.transaction() as session:
                stored_exemptions.request(
                    session, entity_ref=ref("reports"), track_id=TRACK_ID,
                    check_id="has_techdocs",
                    justification="Reports are documented in the data team's handbook.",
                    expires_at=now + timedelta(days=30), by="admin", approve=True, now=now,
                )  # fmt: skip
                stored_exemptions.recertify(
                    session, [ref("reports")], tracks, now, reason="exemption approved"
                )
            yield Scene(workspace, store, tracks)


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The fake GitHub with the scene's repositories, as the workspace's GitHub."""
    seed_repositories(fake_github)
    monkeypatch.setenv("SCORECARD_GITHUB_API_URL", fake_github.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return fake_github


def open_now(scene: Scene, **options: Any) -> FixPullRequestsReport:
    options = {"track_id": TRACK_ID, "level": "silver", **options}
    return open_fix_prs_sync(scene.store, scene.tracks, scene.workspace, **options)


def by_repository(report: FixPullRequestsReport) -> dict[str, Any]:
    return {r.repository: r for r in report.repositories}


def writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [
        request
        for repository in fake.repositories.values()
        for request in repository.requests
        if request[0] != "GET"
    ]


# --- planning from the store ------------------------------------------------------------


def test_the_plans_are_those_of_the_entities_the_stored_results_keep_below(scene: Scene) -> None:
    values = scene.workspace.fixes.values
    planned = plans_from_store(scene.store, scene.tracks, values, track_id=TRACK_ID, level="silver")
    plans = {entity.ref: plan for entity, plan in planned}
    # billing is at silver; reports too, with its exemption.
    assert sorted(plans) == [
        ref(n)
        for n in ("ledger-api", "ledger-worker", "legacy", "payments", "search", "storefront")
    ]
    payments = plans[ref("payments")]
    assert (payments.level_before, payments.level_after) == ("bronze", "silver")
    assert [f.check_id for f in payments.fixes] == ["has_oncall", "has_techdocs"]
    assert payments.fixes[0].catalog is not None
    assert payments.fixes[0].catalog.annotations == {PAGERDUTY: "PPAY001"}
    worker = plans[ref("ledger-worker")]
    assert [u.check_id for u in worker.unfixed] == ["owner_exists"]
    assert not worker.reaches_target and worker.level_after == "bronze"
    assert plans[ref("legacy")].fixes == []  # what keeps it below is not fixable

    # Named checks: the exempted entity is not asked to fix what its exemption waives.
    named = plans_from_store(
        scene.store, scene.tracks, values, track_id=TRACK_ID, check_ids=["has_techdocs"]
    )
    assert ref("reports") not in {e.ref for e, _ in named}
    assert {e.ref for e, _ in named} == {
        ref(n) for n in ("ledger-api", "ledger-worker", "payments", "search", "storefront")
    }


@pytest.mark.parametrize("one_by_one", [remote.ONE_BY_ONE, 0])
def test_entities_named_by_ref_that_need_nothing_say_why(
    scene: Scene, one_by_one: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few refs are read one by one, many picked out of the track's pairs: the same answer.
    monkeypatch.setattr(remote, "ONE_BY_ONE", one_by_one)
    target = fix_target(scene.tracks, TRACK_ID, "silver")
    found = read_plans(
        scene.store,
        target,
        {},
        entity_refs=[ref("payments"), ref("billing"), ref("reports"), "group:default/web"],
    )
    assert [e.ref for e, _ in found.planned] == [ref("payments")]
    assert {s.entity_ref: s.reason for s in found.skipped} == {
        ref("billing"): "it is at silver already, at or above silver",
        ref("reports"): "it is at silver already, at or above silver",
        "group:default/web": "it has no stored results on readiness",
    }


@pytest.mark.parametrize(
    ("level", "checks", "entities", "message"),
    [
        (
            "platinum",
            (),
            None,
            "track readiness has no level 'platinum'; its levels: bronze, silver",
        ),
        (None, ("has_tests",), None, "track readiness has no check 'has_tests'"),
        (None, (), None, "give a level (fix up to it) or checks (fix those), not both"),
        ("silver", ("has_oncall",), None, "not both"),
        ("silver", (), ("nowhere",), "no entity component:default/nowhere has been evaluated"),
    ],
)
def test_what_cannot_be_done_is_a_config_error(
    scene: Scene, level: str | None, checks: tuple[str, ...], entities: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        open_now(scene, level=level, check_ids=checks, entity_refs=entities, dry_run=True)
    assert message in str(raised.value)


def test_an_unknown_track_names_the_known_ones(scene: Scene) -> None:
    with pytest.raises(ConfigError, match="unknown track 'nope'; known: readiness"):
        open_now(scene, track_id="nope", dry_run=True)


# --- pull requests ----------------------------------------------------------------------


def test_one_pull_request_per_repository_then_updated_not_duplicated(
    scene: Scene, github: FakeGitHub
) -> None:
    report = open_now(scene, actor="release-admin")
    rows = by_repository(report)
    assert sorted(rows) == REPOSITORIES
    assert {name: row.action for name, row in rows.items()} == dict.fromkeys(REPOSITORIES, "opened")
    assert report.exit_code == 0

    # payments: both fixes; its own mkdocs.yml is left as it is.
    payments = github.repository("acme/payments")
    (pull,) = payments.open_pulls()
    assert (rows["acme/payments"].number, pull.head) == (pull.number, "scorecard/fixes")
    assert pull.title == "scorecard: reach Silver on Production readiness"
    assert sorted(payments.files("scorecard/fixes")) == [
        "catalog-info.yaml", "docs/index.md", "mkdocs.yml",
    ]  # fmt: skip
    assert payments.text("mkdocs.yml", "scorecard/fixes") == HAND_WRITTEN_MKDOCS
    assert rows["acme/payments"].skipped == ["mkdocs.yml"]
    edited = payments.text("catalog-info.yaml", "scorecard/fixes")
    assert edited.startswith("# Our components.\n")  # the team's comment stays
    annotations = yaml.safe_load(edited)["metadata"]["annotations"]
    assert (annotations[PAGERDUTY], annotations[TECHDOCS]) == ("PPAY001", "dir:.")
    body = pull.body or ""
    assert f"### [`{ref('payments')}`]({PUBLIC_URL}/catalog/component/default/payments)" in body
    assert (
        "Fixed here:\n- Has an on-call integration (`has_oncall`): Page the owner through "
        "PagerDuty\n- Has TechDocs (`has_techdocs`): Publish TechDocs\n"
    ) in body
    assert "**Bronze** → **Silver** once this is merged" in body
    assert "kept up to date by scorecard" in body and "`scorecard/fixes`" in body

    # ledger: two entities, one catalog file edited for both; the first asking for
    # docs/index.md wrote it; the worker's owner is left by hand, with its remediation.
    ledger = github.repository("acme/ledger")
    (ledger_pull,) = ledger.open_pulls()
    assert ledger.text("docs/index.md", "scorecard/fixes") == "# ledger-api\n"
    catalog = list(yaml.safe_load_all(ledger.text("catalog-info.yaml", "scorecard/fixes")))
    assert [d["metadata"]["annotations"].get(TECHDOCS) for d in catalog] == ["dir:.", "dir:."]
    assert catalog[1]["metadata"]["annotations"][PAGERDUTY] == "PLED002"
    ledger_body = ledger_pull.body or ""
    assert ledger_body.count("### ") == 2
    assert "Left to do by hand:\n- Owner exists in the catalog (`owner_exists`)" in ledger_body
    # The remediation's Markdown, its code block too, inside the item.
    assert "\n\n  Register the owner in the catalog" in ledger_body
    assert "\n      kind: Group\n" in ledger_body
    assert "**Bronze**, unchanged by this alone" in ledger_body  # the worker stays below
    assert rows["acme/ledger"].entities == [ref("ledger-api"), ref("ledger-worker")]

    # search: its files, but not the catalog edit whose file is not known; it says so.
    search = github.repository("acme/search")
    assert search.text("catalog-info.yaml", "scorecard/fixes") == search.text("catalog-info.yaml")
    assert sorted(rows["acme/search"].files) == ["docs/index.md", "mkdocs.yml"]
    (note,) = rows["acme/search"].notes
    assert note.startswith(
        f"{ref('search')}: its catalog edits are not in the pull request: the path of its"
    )
    assert "its catalog edit is not in this pull request" in (search.open_pulls()[0].body or "")

    skipped = {s.entity_ref: s.reason for s in report.skipped}
    assert "no GitHub repository is known" in skipped[ref("storefront")]
    assert skipped[ref("legacy")] == "nothing to fix automatically: 1 check needs doing by hand"
    entities = {e.entity_ref: e for e in report.entities}
    assert entities[ref("legacy")].repository is None
    assert entities[ref("payments")].reaches_target

    (row,) = scene.store.audit_log(action=AUDIT_ACTION, actor="release-admin").items
    assert (row.object_type, row.object_id) == ("track", TRACK_ID)
    assert row.change is not None and row.change["level"] == "silver"
    assert {r["repository"]: r["number"] for r in row.change["repositories"]} == {
        name: github.repository(name).open_pulls()[0].number for name in REPOSITORIES
    }

    # Again, with nothing changed: nothing is written.
    before = len(writes(github))
    again = open_now(scene, actor="release-admin")
    assert {r.action for r in again.repositories} == {"unchanged"}
    assert len(writes(github)) == before
    # With a new PagerDuty service, payments' pull request is updated in place.
    values = {**scene.workspace.fixes.values, "pagerduty": {"payments": "PNEW999"}}
    changed = replace(
        scene.workspace, fixes=scene.workspace.fixes.model_copy(update={"values": values})
    )
    updated = open_fix_prs_sync(
        scene.store, scene.tracks, changed, track_id=TRACK_ID, level="silver",
        entity_refs=["payments"],
    )  # fmt: skip
    assert [(r.repository, r.action, r.number) for r in updated.repositories] == [
        ("acme/payments", "updated", pull.number)
    ]
    assert len(payments.open_pulls()) == 1 and len(payments.pulls) == 1
    annotations = yaml.safe_load(payments.text("catalog-info.yaml", "scorecard/fixes"))
    assert annotations["metadata"]["annotations"][PAGERDUTY] == "PNEW999"


def test_a_dry_run_writes_nothing(scene: Scene, github: FakeGitHub) -> None:
    audited = scene.store.audit_log(action=AUDIT_ACTION).total
    report = open_now(scene, dry_run=True)
    assert {r.repository: r.action for r in report.repositories} == dict.fromkeys(
        REPOSITORIES, "would open"
    )
    assert sorted(by_repository(report)["acme/payments"].files) == [
        "catalog-info.yaml", "docs/index.md",
    ]  # fmt: skip
    assert writes(github) == []
    assert all(not github.repository(name).pulls for name in REPOSITORIES)
    assert scene.store.audit_log(action=AUDIT_ACTION).total == audited


def test_a_repository_that_refuses_is_reported_and_the_others_go_on(
    scene: Scene, github: FakeGitHub
) -> None:
    github.fault("acme/ledger", FORBIDDEN, methods=["POST", "PUT", "PATCH", "DELETE"])
    report = open_now(scene)
    rows = by_repository(report)
    assert rows["acme/ledger"].action == "failed"
    assert "Resource not accessible by integration" in (rows["acme/ledger"].error or "")
    assert (rows["acme/payments"].action, rows["acme/search"].action) == ("opened", "opened")
    assert report.exit_code == 1


def test_a_spent_rate_limit_is_reported_and_shared_through_the_store(
    scene: Scene, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A token of its own: the limit it spends is kept in the store, for every process.
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_spent_limit")
    github.fault("acme/ledger", RATE_LIMITED)
    report = open_now(scene, entity_refs=["ledger-api"])
    (row,) = report.repositories
    assert row.action == "failed" and "rate limit" in (row.error or "")
    # The key another process's client of the same API and token waits under.
    key = GitHubClient(github.url, "ghp_spent_limit").limit_key
    resume_at = SharedRateLimit(scene.store.engine).wait_until(key)
    assert resume_at is not None and resume_at > time.time() + 3000


def test_the_cli_prints_the_repositories_and_returns_the_exit_code(
    scene: Scene, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    options: dict[str, Any] = {
        "track_id": TRACK_ID, "level": "silver", "check_ids": (), "entity_refs": (),
    }  # fmt: skip
    assert open_prs(scene.workspace, dry_run=True, output_format="json", **options) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in shown["repositories"]] == ["would open"] * 3
    assert {s["entity"] for s in shown["skipped"]} == {ref("storefront"), ref("legacy")}

    github.fault("acme/search", FORBIDDEN, methods=["POST", "PUT"])
    assert open_prs(scene.workspace, dry_run=False, output_format="text", **options) == 1
    table = capsys.readouterr().out
    for expected in (
        "acme/payments", "opened", "/acme/payments/pull/", "failed", "mkdocs.yml (exists, kept)",
        "note acme/search: component:default/search: its catalog edits are not in the pull",
        "skipped component:default/legacy: nothing to fix automatically",
    ):  # fmt: skip
        assert expected in table


def test_no_github_token_is_a_config_error_unless_a_dry_run(
    scene: Scene, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(ConfigError, match="GITHUB_TOKEN: no GitHub token"):
        open_now(scene)
    assert open_now(scene, dry_run=True).exit_code == 0


# --- where the catalog file is, and what the body shows ----------------------------------


def _entity(**annotations: str) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "x", "annotations": annotations},
        }
    )


MANAGED = "backstage.io/managed-by-location"
SOURCE = "backstage.io/source-location"


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (
            {MANAGED: "url:https://github.com/Acme/Pay/blob/main/svc/catalog-info.yaml"},
            "svc/catalog-info.yaml",
        ),
        (
            {SOURCE: "url:https://github.com/acme/pay/tree/main/services/x/"},
            "services/x/catalog-info.yaml",
        ),
        ({SOURCE: "url:https://github.com/acme/pay.git"}, "catalog-info.yaml"),
        # The file Backstage read the entity from wins over the source's folder.
        (
            {
                MANAGED: "url:https://github.com/acme/pay/blob/main/c.yml",
                SOURCE: "url:https://github.com/acme/pay",
            },
            "c.yml",
        ),
    ],
)
def test_the_catalog_file_is_found_from_the_locations(
    annotations: dict[str, str], expected: str
) -> None:
    assert catalog_path(_entity(**annotations), ("acme", "pay"), "github.com") == expected


@pytest.mark.parametrize(
    ("annotations", "why"),
    [
        ({}, "is not known"),
        ({MANAGED: "url:https://github.com/acme/catalog/blob/main/all.yaml"}, "is in acme/catalog"),
        ({MANAGED: "url:https://evil.example/acme/pay/blob/main/c.yaml"}, "not a page of acme/pay"),
        ({MANAGED: "url:https://github.com/acme/pay/blob/main/.git/config.yaml"}, "inside .git"),
        (
            {MANAGED: "url:https://github.com/acme/pay/blob/main/%2E%2E/x.yaml"},
            "leaves the repository",
        ),
        ({MANAGED: "url:https://github.com/acme/pay/tree/main/"}, "does not name a YAML file"),
        ({MANAGED: "file:/srv/catalog/c.yaml"}, "is not known"),
    ],
)
def test_a_catalog_file_that_cannot_be_placed_says_why(
    annotations: dict[str, str], why: str
) -> None:
    with pytest.raises(UnknownCatalogPath, match=why.replace(".", r"\.")):
        catalog_path(_entity(**annotations), ("acme", "pay"), "github.com")


def test_catalog_text_shows_as_text_in_the_body() -> None:
    assert escaped("ping @security [here](https://x.example) <b>\n# now") == (
        r"ping \@security \[here\]\(https://x.example\) \<b\> \# now"
    )


def test_the_body_path_is_under_public_url() -> None:
    from scorecard.fixes.pr_text import entity_page

    assert entity_page(f"{PUBLIC_URL}/", "component:default/a.b") == (
        f"{PUBLIC_URL}/catalog/component/default/a.b"
    )
    assert entity_page(None, "component:default/a") is None
