from typing import Any

import pytest
from pydantic import ValidationError

from checks.fields import entity_field
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check

PASS, FAIL = Outcome.PASS, Outcome.FAIL
ONCALL = "metadata.annotations.pagerduty.com/service-id"
TIER = "metadata.annotations.example.com/tier"

ENTITY = {
    "metadata": {
        "name": "payments",
        "title": " ",
        "tags": ["python", "payments"],
        "annotations": {"pagerduty.com/service-id": "PX1", "example.com/tier": "2"},
    },
    "spec": {
        "type": "service",
        "lifecycle": "production",
        "replicas": 3,
        "public": True,
        "targets": ["a.yaml", "b.yaml"],
        "empty": [],
    },
}


def rule(path: str, op: str, value: Any, expected: Outcome, name: str) -> Any:
    params = {"path": path, "op": op} if value is None else {"path": path, "op": op, "value": value}
    return pytest.param(entity_field, params, expected, id=f"{op}-{name}")


CASES = [
    rule("spec.type", "exists", None, PASS, "set"),
    rule(ONCALL, "exists", None, PASS, "dotted-key"),
    rule("spec.targets.1", "exists", None, PASS, "list-index"),
    rule("spec.targets.2", "exists", None, FAIL, "index-out-of-range"),
    rule("spec.system", "exists", None, FAIL, "missing"),
    rule("metadata.title", "exists", None, FAIL, "blank"),
    rule("spec.empty", "exists", None, FAIL, "empty-list"),
    rule("spec.system", "not_exists", None, PASS, "missing"),
    rule("spec.type", "not_exists", None, FAIL, "set"),
    rule("spec.lifecycle", "equals", "production", PASS, "same"),
    rule("spec.lifecycle", "equals", "Production", PASS, "case-insensitive"),
    rule("spec.lifecycle", "equals", "experimental", FAIL, "different"),
    rule("spec.replicas", "equals", 3, PASS, "number"),
    rule("spec.public", "equals", True, PASS, "bool"),
    rule("spec.public", "equals", 1, FAIL, "bool-is-not-1"),
    rule("spec.system", "equals", "payments", FAIL, "missing"),
    rule("spec.lifecycle", "not_equals", "deprecated", PASS, "different"),
    rule("spec.lifecycle", "not_equals", "PRODUCTION", FAIL, "same"),
    rule("spec.system", "not_equals", "payments", PASS, "missing"),
    rule("spec.lifecycle", "in", ["production", "experimental"], PASS, "listed"),
    rule("spec.lifecycle", "in", ["PRODUCTION"], PASS, "case-insensitive"),
    rule("spec.lifecycle", "in", ["deprecated"], FAIL, "not-listed"),
    rule("spec.system", "in", ["payments"], FAIL, "missing"),
    rule("spec.lifecycle", "not_in", ["deprecated"], PASS, "not-listed"),
    rule("spec.lifecycle", "not_in", ["Production"], FAIL, "listed"),
    rule("spec.system", "not_in", ["payments"], PASS, "missing"),
    rule("spec.type", "matches", "^serv", PASS, "match"),
    rule("spec.type", "matches", "vic", PASS, "search"),
    rule("spec.type", "matches", "^lib", FAIL, "no-match"),
    rule("spec.type", "matches", "^SERV", FAIL, "case-sensitive"),
    rule("spec.type", "matches", "(?i)^SERV", PASS, "inline-flag"),
    rule("spec.replicas", "matches", "^3$", PASS, "number"),
    rule("metadata.tags", "matches", "python", FAIL, "list"),
    rule("spec.system", "matches", ".*", FAIL, "missing"),
    rule("spec.type", "not_matches", "^lib", PASS, "no-match"),
    rule("spec.type", "not_matches", "^serv", FAIL, "match"),
    rule("spec.system", "not_matches", ".*", PASS, "missing"),
    rule("metadata.tags", "contains", "python", PASS, "list"),
    rule("metadata.tags", "contains", "PYTHON", PASS, "list-case-insensitive"),
    rule("metadata.tags", "contains", "go", FAIL, "list-absent"),
    rule("spec.type", "contains", "erv", PASS, "substring"),
    rule("spec.type", "contains", "ERV", FAIL, "substring-case-sensitive"),
    rule("spec.replicas", "contains", 3, FAIL, "number"),
    rule("spec.system", "contains", "x", FAIL, "missing"),
    rule("metadata.tags", "not_contains", "go", PASS, "list-absent"),
    rule("metadata.tags", "not_contains", "Python", FAIL, "list"),
    rule("spec.type", "not_contains", "erv", FAIL, "substring"),
    rule("spec.system", "not_contains", "x", PASS, "missing"),
    rule("spec.replicas", "gte", 3, PASS, "equal"),
    rule("spec.replicas", "gte", 4, FAIL, "less"),
    rule(TIER, "gte", 2, PASS, "numeric-string"),
    rule("spec.type", "gte", 1, FAIL, "not-numeric"),
    rule("spec.public", "gte", 0, FAIL, "bool"),
    rule("spec.system", "gte", 1, FAIL, "missing"),
    rule("spec.replicas", "lte", 3, PASS, "equal"),
    rule("spec.replicas", "lte", 2.5, FAIL, "greater"),
    rule(TIER, "lte", 1, FAIL, "numeric-string"),
    rule("spec.replicas", "gt", 2.5, PASS, "greater"),
    rule("spec.replicas", "gt", 3, FAIL, "equal"),
    rule("spec.replicas", "lt", 4, PASS, "less"),
    rule("spec.replicas", "lt", 3, FAIL, "equal"),
    rule("spec.system", "lt", 3, FAIL, "missing"),
]


@pytest.mark.parametrize(("check", "params", "expected"), CASES)
def test_outcome(check: Check, params: dict[str, Any], expected: Outcome) -> None:
    result = run_check(check, ENTITY, params=params)
    assert result.outcome == expected, result.message


MESSAGES = [
    pytest.param(
        {"path": ONCALL, "op": "exists"},
        "metadata.annotations.pagerduty.com/service-id is 'PX1' (expected to exist).",
        id="exists",
    ),
    pytest.param(
        {"path": "spec.system"}, "spec.system is not set (expected to exist).", id="default-op"
    ),
    pytest.param(
        {"path": "spec.lifecycle", "op": "not_in", "value": ["production", "experimental"]},
        "spec.lifecycle is 'production' (expected to not be one of 'production', 'experimental').",
        id="not-in",
    ),
    pytest.param(
        {"path": "spec.type", "op": "gte", "value": 1},
        "spec.type is 'service', which is not numeric (expected to be at least 1).",
        id="not-numeric",
    ),
    pytest.param(
        {"path": "spec.type", "op": "matches", "value": "^lib"},
        "spec.type is 'service' (expected to match /^lib/).",
        id="matches",
    ),
]


@pytest.mark.parametrize(("params", "message"), MESSAGES)
def test_message(params: dict[str, Any], message: str) -> None:
    assert run_check(entity_field, ENTITY, params=params).message == message


def test_evidence_is_data() -> None:
    result = run_check(
        entity_field, ENTITY, params={"path": "spec.lifecycle", "op": "in", "value": ["ga"]}
    )
    assert result.evidence == {
        "path": "spec.lifecycle",
        "op": "in",
        "value": "production",
        "expected": ["ga"],
    }


def test_remediation_states_the_rule() -> None:
    params = entity_field.parse_params({"path": "spec.lifecycle", "op": "equals", "value": "ga"})
    assert entity_field.remediation_for(params) == (
        "Update catalog-info.yaml so that `spec.lifecycle` meets the rule: "
        "it is expected to equal 'ga'."
    )


BAD_PARAMS = [
    pytest.param({"op": "exists"}, id="path-missing"),
    pytest.param({"path": ""}, id="path-empty"),
    pytest.param({"path": "spec.type", "op": "like", "value": "x"}, id="unknown-op"),
    pytest.param({"path": "spec.type", "op": "exists", "value": "x"}, id="exists-with-value"),
    pytest.param({"path": "spec.type", "op": "not_exists", "value": 1}, id="not-exists-value"),
    pytest.param({"path": "spec.type", "op": "equals"}, id="equals-without-value"),
    pytest.param({"path": "spec.type", "op": "not_equals"}, id="not-equals-without-value"),
    pytest.param({"path": "spec.type", "op": "in", "value": "service"}, id="in-not-a-list"),
    pytest.param({"path": "spec.type", "op": "not_in", "value": []}, id="not-in-empty-list"),
    pytest.param({"path": "spec.type", "op": "matches", "value": "("}, id="bad-regex"),
    pytest.param({"path": "spec.type", "op": "not_matches", "value": 3}, id="regex-not-str"),
    pytest.param({"path": "spec.type", "op": "contains", "value": ["a"]}, id="contains-list"),
    pytest.param({"path": "spec.type", "op": "not_contains"}, id="not-contains-no-value"),
    pytest.param({"path": "spec.replicas", "op": "gte", "value": "3"}, id="gte-string"),
    pytest.param({"path": "spec.replicas", "op": "lt", "value": True}, id="lt-bool"),
    pytest.param({"path": "spec.replicas", "op": "gt"}, id="gt-without-value"),
    pytest.param({"path": "spec.replicas", "op": "lte", "value": float("nan")}, id="lte-nan"),
    pytest.param({"path": "spec.type", "op": "exists", "extra": 1}, id="unknown-key"),
]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_params(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        entity_field.parse_params(params)
