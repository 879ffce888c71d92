from typing import Any

import pytest

from checks.ownership import has_owner, owner_exists, owner_is_group
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check

TEAM_A = {"kind": "Group", "metadata": {"name": "team-a"}, "spec": {"type": "team"}}
JDOE = {"kind": "User", "metadata": {"name": "jdoe"}, "spec": {}}
PLATFORM = {
    "kind": "Group",
    "metadata": {"name": "platform", "namespace": "infra"},
    "spec": {"type": "team"},
}


def owned_by(owner: Any) -> dict[str, Any]:
    return {"spec": {"owner": owner}}


CASES = [
    pytest.param(has_owner, owned_by("team-a"), [], Outcome.PASS, id="has_owner-set"),
    pytest.param(has_owner, owned_by("user:jdoe"), [], Outcome.PASS, id="has_owner-user"),
    pytest.param(has_owner, {}, [], Outcome.FAIL, id="has_owner-missing"),
    pytest.param(has_owner, owned_by("  "), [], Outcome.FAIL, id="has_owner-blank"),
    pytest.param(has_owner, owned_by("group:"), [], Outcome.FAIL, id="has_owner-invalid-ref"),
    pytest.param(owner_is_group, owned_by("team-a"), [], Outcome.PASS, id="is_group-no-kind"),
    pytest.param(
        owner_is_group, owned_by("group:infra/platform"), [], Outcome.PASS, id="is_group-full"
    ),
    pytest.param(owner_is_group, owned_by("user:jdoe"), [], Outcome.FAIL, id="is_group-user"),
    pytest.param(owner_is_group, {}, [], Outcome.FAIL, id="is_group-no-owner"),
    pytest.param(owner_exists, owned_by("team-a"), [TEAM_A], Outcome.PASS, id="exists-group"),
    pytest.param(owner_exists, owned_by("user:jdoe"), [JDOE], Outcome.PASS, id="exists-user"),
    pytest.param(
        owner_exists, owned_by("Group:Infra/platform"), [PLATFORM], Outcome.PASS, id="exists-case"
    ),
    pytest.param(owner_exists, owned_by("team-b"), [TEAM_A], Outcome.FAIL, id="exists-unknown"),
    # team-a in another namespace is a different group.
    pytest.param(
        owner_exists, owned_by("infra/team-a"), [TEAM_A], Outcome.FAIL, id="exists-namespace"
    ),
    pytest.param(owner_exists, {}, [TEAM_A], Outcome.FAIL, id="exists-no-owner"),
]


@pytest.mark.parametrize(("check", "entity", "catalog", "expected"), CASES)
def test_outcome(
    check: Check, entity: dict[str, Any], catalog: list[dict[str, Any]], expected: Outcome
) -> None:
    result = run_check(check, entity, catalog=catalog)
    assert result.outcome == expected, result.message


MESSAGES = [
    pytest.param(
        owner_is_group,
        owned_by("user:jdoe"),
        "component:default/example is owned by user:default/jdoe, a user, not a group.",
        {"owner": "user:default/jdoe", "owner_kind": "user"},
        id="user-owner",
    ),
    pytest.param(
        has_owner,
        {},
        "component:default/example has no owner (spec.owner is not set).",
        {},
        id="no-owner",
    ),
    pytest.param(
        has_owner,
        owned_by("group:"),
        "component:default/example has spec.owner 'group:', which is not a valid entity ref.",
        {"owner": "group:"},
        id="invalid-owner",
    ),
    pytest.param(
        owner_exists,
        owned_by("team-b"),
        "component:default/example is owned by group:default/team-b, which is not in the catalog.",
        {"owner": "group:default/team-b"},
        id="unknown-owner",
    ),
]


@pytest.mark.parametrize(("check", "entity", "message", "evidence"), MESSAGES)
def test_message_and_evidence(
    check: Check, entity: dict[str, Any], message: str, evidence: dict[str, Any]
) -> None:
    result = run_check(check, entity)
    assert result.message == message
    assert result.evidence == evidence
