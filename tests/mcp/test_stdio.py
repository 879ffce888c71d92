"""`scorecard mcp` end to end: the SDK's stdio client starts it as a subprocess over a
workspace whose database a real `scorecard run` filled, and every answer is held against
what the store and the loaded tracks say."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp_types import Tool

from scorecard.registry import build_registry
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.store import Store
from scorecard.tracks import Track, load_tracks
from scorecard.workspace import Workspace
from tests.mcp.conftest import (
    EXEMPTION,
    NOISY_LINE,
    answer,
    database_url,
    error_text,
    stdio_session,
    write_workspace,
)

TOOLS = {
    "get_scorecard", "explain_level", "describe_check", "list_owner_entities",
    "list_owner_campaigns", "find_entities", "preview_rollout",
}  # fmt: skip
CHECKOUT = "component:default/checkout-web"
READINESS = "production-readiness"
PAYMENTS = "group:default/payments"


@pytest.fixture(scope="module")
def tracks(ran_workspace: Path) -> dict[str, Track]:
    workspace = Workspace.load(ran_workspace)
    loaded = load_tracks(workspace.tracks, build_registry(workspace.checks))
    return {t.id: t for t in loaded}


@pytest.fixture(scope="module")
def store(ran_workspace: Path) -> Any:
    with Store(database_url(ran_workspace)) as opened:
        yield opened


def dashboard_required(track_file: Path) -> str:
    """The production-readiness track with its optional dashboard check made required."""
    document = yaml.safe_load(track_file.read_text())
    silver = next(level for level in document["levels"] if level["id"] == "silver")
    entry = next(c for c in silver["checks"] if isinstance(c, dict) and c["id"] == "has_dashboard")
    entry["required"] = True
    return yaml.safe_dump(document, sort_keys=False)


# Questions that name nothing known, each with what its tool error must say.
BAD_CALLS = [
    ("get_scorecard", {"entity": "paymnts-gateway"},
     "no entity component:default/paymnts-gateway has been evaluated (did you mean "
     "component:default/payments-gateway"),
    ("get_scorecard", {"entity": "component:"}, "has no name"),
    ("get_scorecard", {"entity": CHECKOUT, "track": "nope"},
     f"{CHECKOUT} is not evaluated on a track 'nope'; its tracks: basics, "),
    ("explain_level", {"entity": CHECKOUT, "level": "platinum"},
     f"no track of {CHECKOUT} has a level 'platinum'; levels: basics: bronze, silver, gold"),
    ("describe_check", {"check": "has_runbok"},
     "no check 'has_runbok' is registered or used by a track (did you mean has_runbook"),
    ("describe_check", {"check": "has_runbook", "track": "production-readines"},
     "no track 'production-readines' (did you mean production-readiness?)"),
    ("describe_check", {"check": "has_licence", "track": READINESS},
     f"track {READINESS} has no check 'has_licence'"),
    ("list_owner_entities", {"owner": "group:default/nobody"},
     "no evaluated entity is owned by group:default/nobody"),
    ("list_owner_campaigns", {"owner": "paymnts"},
     "no evaluated entity is owned by group:default/paymnts (did you mean "
     "group:default/payments?)"),
    ("find_entities", {"track": "nope"}, "no track 'nope'"),
    ("preview_rollout", {"tracks": ["kind: Track\n"]},
     "problems in the track documents: track 1:"),
    # Arguments that do not fit a tool's schema are refused before it runs.
    ("get_scorecard", {"entity": "pay\x00ments"}, "entity"),
    ("list_owner_entities", {"owner": PAYMENTS, "limit": 0}, "limit"),
    ("get_scorecard", {}, "entity"),
]  # fmt: skip


@dataclass(frozen=True)
class Conversation:
    tools: dict[str, Tool]
    answers: dict[str, dict[str, Any]]
    errors: list[str]  # BAD_CALLS' messages, in order
    stderr: str


@pytest.fixture(scope="module")
def conversation(ran_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Conversation:
    """One session with `scorecard mcp` asking every tool, the tests then read it."""
    preview_document = dashboard_required(ran_workspace.parent / "tracks" / f"{READINESS}.yaml")
    errlog = tmp_path_factory.mktemp("mcp-stderr") / "stderr.log"
    calls = {
        # Refs are looked up without regard to case, kind defaulting to component.
        "scorecard": ("get_scorecard", {"entity": "Checkout-Web"}),
        "gold": ("explain_level", {"entity": CHECKOUT, "level": "gold", "track": READINESS}),
        "silver": ("explain_level", {"entity": "checkout-web", "level": "silver"}),
        "configured": ("describe_check", {"check": "has_runbook", "track": READINESS}),
        "registered": ("describe_check", {"check": "has_file"}),
        "owner": ("list_owner_entities", {"owner": "Group:Default/Payments"}),
        "campaigns": ("list_owner_campaigns", {"owner": "payments"}),
        "gold_entities": ("find_entities", {"track": READINESS, "level": "gold"}),
        # Over stdio the local user is trusted: no token.
        "preview": ("preview_rollout", {"tracks": [preview_document]}),
    }

    async def converse() -> Conversation:
        async with stdio_session(ran_workspace, errlog) as session:
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            answers = {key: answer(await session.call_tool(*call)) for key, call in calls.items()}
            errors = [
                error_text(await session.call_tool(name, args)) for name, args, _ in BAD_CALLS
            ]
        return Conversation(listed, answers, errors, errlog.read_text())

    return asyncio.run(converse())


def test_every_tool_is_listed_with_a_description_and_schemas(conversation: Conversation) -> None:
    listed = conversation.tools
    assert set(listed) == TOOLS
    for tool in listed.values():
        assert len(tool.description or "") > 80, tool.name
        assert tool.input_schema["properties"], tool.name
        assert tool.output_schema is not None, tool.name
    assert listed["get_scorecard"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert listed["get_scorecard"].input_schema["required"] == ["entity"]


def test_get_scorecard_answers_the_stored_levels_and_results(
    conversation: Conversation, store: Store, tracks: dict[str, Track]
) -> None:
    card = conversation.answers["scorecard"]
    assert card["entity"]["ref"] == CHECKOUT
    certifications = {c.track_id: c for c in store.certifications(entity_ref=CHECKOUT)}
    results = {(r.track_id, r.check_id): r for r in store.results(entity_ref=CHECKOUT)}
    assert {t["track"] for t in card["tracks"]} == set(certifications)
    for track in card["tracks"]:
        assert track["level"] == certifications[track["track"]].level
        assert track["next_level"] == certifications[track["track"]].next_level
        checks = [c for level in track["levels"] for c in level["checks"]]
        assert [c["id"] for c in checks] == [c.id for c in tracks[track["track"]].checks]
        for check in checks:
            stored = results[track["track"], check["id"]]
            assert (check["outcome"], check["message"]) == (stored.outcome, stored.message)
    assert card["links"]["page"] == "/catalog/component/default/checkout-web"
    assert card["links"]["badges"][READINESS].endswith(f"/checkout-web/{READINESS}.svg")


def test_explain_level_names_the_blocking_checks_and_the_exemptions_in_effect(
    conversation: Conversation, store: Store, tracks: dict[str, Track]
) -> None:
    certifications = {c.track_id: c for c in store.certifications(entity_ref=CHECKOUT)}
    results = {r.check_id: r for r in store.results(entity_ref=CHECKOUT, track_id=READINESS)}
    # The exemption kept as code made checkout-web silver despite its missing runbook.
    assert certifications[READINESS].level == "silver"
    waived = store.waivers(entity_refs=[CHECKOUT]).for_pair(CHECKOUT, READINESS)
    assert set(waived) == {"has_runbook"}

    # Gold: the required checks up to gold that do not pass, exempted ones apart, each
    # with the track's remediation and docs.
    gold = conversation.answers["gold"]["tracks"]
    assert [t["track"] for t in gold] == [READINESS]
    track = tracks[READINESS]
    expected = [
        c.id
        for c in track.checks
        if c.required and results[c.id].outcome not in NON_BLOCKING and c.id not in waived
    ]
    assert expected, "checkout-web should have failing gold checks in the demo"
    explained = gold[0]
    assert (explained["level"], explained["target"], explained["reached"]) == (
        "silver", "gold", False,
    )  # fmt: skip
    assert [b["id"] for b in explained["blocking"]] == expected
    for blocking in explained["blocking"]:
        configured = track.find_check(blocking["id"])
        assert configured is not None
        assert blocking["remediation"] == configured.remediation
        assert blocking["docs_url"] == configured.docs_url
        assert blocking["message"] == results[blocking["id"]].message
        assert blocking["level"] == configured.level_id
    assert [(e["id"], e["outcome"]) for e in explained["exempted"]] == [("has_runbook", "fail")]
    exemption = explained["exempted"][0]["exemption"]
    assert exemption["justification"].startswith("The runbook moves to the new wiki")
    assert f"{len(expected)} required checks block gold" in explained["summary"]

    # Silver on every track that has it: reached on production-readiness only through
    # the exemption, which is shown.
    silver = {t["track"]: t for t in conversation.answers["silver"]["tracks"]}
    assert set(silver) == set(certifications)
    readiness = silver[READINESS]
    assert readiness["reached"] is True and readiness["blocking"] == []
    assert [e["id"] for e in readiness["exempted"]] == ["has_runbook"]
    for track_id, explained in silver.items():
        ladder = [level.id for level in tracks[track_id].levels]
        level = certifications[track_id].level
        reached = level is not None and ladder.index(level) >= ladder.index("silver")
        assert explained["reached"] is reached
        assert bool(explained["blocking"]) is not reached


def test_describe_check_gives_the_tracks_remediation(
    conversation: Conversation, tracks: dict[str, Track]
) -> None:
    configured = tracks[READINESS].find_check("has_runbook")
    assert configured is not None
    (use,) = conversation.answers["configured"]["uses"]
    assert use["remediation"] == configured.remediation
    assert use["remediation"] == "Add `docs/runbook.md` to the repository."
    assert (use["check"], use["level"], use["params"]) == (
        "has_file", "silver", {"path": "docs/runbook.md"},
    )  # fmt: skip
    assert use["description"] == configured.description
    assert conversation.answers["configured"]["registered"]["id"] == "has_file"
    registered = conversation.answers["registered"]
    assert (READINESS, "has_runbook") in {(u["track"], u["id"]) for u in registered["uses"]}
    assert registered["registered"]["remediation"] == "Add `{path}` to the repository."


def test_an_owners_entities_campaigns_and_levels_are_the_stored_ones(
    conversation: Conversation, store: Store
) -> None:
    owned = store.entities(owner=PAYMENTS)
    owner = conversation.answers["owner"]
    assert owner["owner"] == PAYMENTS and owner["total"] == len(owned) > 1
    assert [e["entity"]["ref"] for e in owner["entities"]] == [e.ref for e in owned]
    for item in owner["entities"]:
        ref = item["entity"]["ref"]
        assert item["entity"]["levels"] == {
            c.track_id: c.level for c in store.certifications(entity_ref=ref)
        }
    for rollup in owner["tracks"]:
        on_track = [e for e in owned if store.certification(e.ref, rollup["track"])]
        assert sum(rollup["levels"].values()) == len(on_track)
    assert owner["page"] == f"/owners/{PAYMENTS}"

    # The demo campaign, with the owner's progress as the run recorded it, and each of
    # its entities not at silver with what holds it back.
    recorded = store.owner_campaigns(PAYMENTS, ["silver-production-services"])
    (campaign,) = conversation.answers["campaigns"]["campaigns"]
    assert campaign["campaign"]["id"] == "silver-production-services"
    mine = recorded["silver-production-services"]
    assert (campaign["in_scope"], campaign["at_goal"]) == (mine.in_scope, mine.at_goal)
    assert campaign["not_at_goal_total"] == mine.in_scope - mine.at_goal > 0
    for entity in campaign["not_at_goal"]:
        level = store.certification(entity["ref"], READINESS)
        assert entity["level"] == (level.level if level else None)
        assert entity["level"] not in ("silver", "gold")
        assert entity["blocking"]
    assert campaign["page"] == "/campaigns/silver-production-services"

    at_gold = sorted(
        c.entity_ref for c in store.certifications(track_id=READINESS) if c.level == "gold"
    )
    found = conversation.answers["gold_entities"]
    assert [e["entity"]["ref"] for e in found["entities"]] == at_gold
    assert found["total"] == len(at_gold) > 0


def test_the_local_user_previews_a_track_change_without_a_token(
    conversation: Conversation, store: Store
) -> None:
    # The dashboard check made required takes silver and gold from every entity above
    # bronze that lacks one.
    lose = sorted(
        c.entity_ref
        for c in store.certifications(track_id=READINESS)
        if c.level in ("silver", "gold")
        and results_of(store, c.entity_ref)["has_dashboard"] == Outcome.WARN
    )
    assert lose, "some silver entity of the demo should lack a dashboard"
    (previewed,) = conversation.answers["preview"]["tracks"]
    assert sorted(m["entity"] for m in previewed["lost"]) == lose
    for moved in previewed["lost"]:
        assert moved["after"] == "bronze"
        assert "has_dashboard" in [c["id"] for c in moved["checks"]]
    audit = store.audit_log(action="tracks.previewed").items
    assert audit[0].actor == "cli" and audit[0].object_id == READINESS


def results_of(store: Store, ref: str) -> dict[str, Outcome]:
    return {r.check_id: r.outcome for r in store.results(entity_ref=ref, track_id=READINESS)}


@pytest.mark.parametrize(
    ("index", "call"),
    list(enumerate(BAD_CALLS)),
    ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)],
)
def test_questions_about_nothing_known_are_tool_errors_that_say_what_is(
    conversation: Conversation, index: int, call: tuple[str, dict[str, Any], str]
) -> None:
    name, arguments, expected = call
    assert expected in conversation.errors[index], (name, arguments)


def test_stdout_carries_the_protocol_only(conversation: Conversation) -> None:
    # What a check module printed went to stderr, and nothing failed on the way.
    assert NOISY_LINE in conversation.stderr
    assert "Traceback" not in conversation.stderr


def test_over_stdio_changed_track_files_are_read_again_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # No run needed: a check's configuration comes from the tracks.
    config = write_workspace(tmp_path / "workspace")
    track_file = config.parent / "tracks" / f"{READINESS}.yaml"
    expires = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()

    async def converse() -> tuple[dict[str, Any], dict[str, Any]]:
        ask = ("describe_check", {"check": "has_runbook", "track": READINESS})
        async with stdio_session(config, tmp_path / "stderr.log") as session:
            before = answer(await session.call_tool(*ask))
            text = track_file.read_text().replace("title: Has a runbook", "title: Runbook written")
            track_file.write_text(text)
            # A server's reload would also apply this to the store; a reader must not.
            exemption = config.parent / "exemptions" / "checkout-web.yaml"
            exemption.write_text(EXEMPTION.format(expires=expires))
            return before, answer(await session.call_tool(*ask))

    before, after = asyncio.run(converse())
    assert before["uses"][0]["title"] == "Has a runbook"
    assert after["uses"][0]["title"] == "Runbook written"
    with Store(database_url(config)) as store:
        assert store.exemptions().total == 0
        assert store.audit_log().total == 0
