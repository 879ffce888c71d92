from typing import Any

import pytest
from pydantic import ValidationError

from checks.annotations import ONCALL_ANNOTATIONS, has_annotation, has_oncall, has_techdocs
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check


def annotated(**annotations: Any) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations}}


def with_key(key: str, value: Any) -> dict[str, Any]:
    return {"metadata": {"annotations": {key: value}}}


SLUG = "github.com/project-slug"

CASES = [
    pytest.param(has_annotation, with_key(SLUG, "acme/payments"), {"key": SLUG}, Outcome.PASS),
    pytest.param(has_annotation, annotated(), {"key": SLUG}, Outcome.FAIL, id="absent"),
    pytest.param(has_annotation, with_key(SLUG, " "), {"key": SLUG}, Outcome.FAIL, id="blank"),
    pytest.param(has_annotation, with_key(SLUG, 42), {"key": SLUG}, Outcome.FAIL, id="not-str"),
    pytest.param(
        has_annotation,
        with_key(SLUG, "acme/payments"),
        {"key": SLUG, "pattern": r"^acme/"},
        Outcome.PASS,
        id="pattern",
    ),
    # The pattern is searched for, not matched against the whole value.
    pytest.param(
        has_annotation,
        with_key(SLUG, "acme/payments"),
        {"key": SLUG, "pattern": "pay"},
        Outcome.PASS,
        id="pattern-search",
    ),
    pytest.param(
        has_annotation,
        with_key(SLUG, "acme/payments"),
        {"key": SLUG, "pattern": "^pay"},
        Outcome.FAIL,
        id="pattern-anchored",
    ),
    pytest.param(
        has_annotation,
        annotated(),
        {"key": SLUG, "pattern": ".*"},
        Outcome.FAIL,
        id="pattern-absent",
    ),
    pytest.param(has_techdocs, with_key("backstage.io/techdocs-ref", "dir:."), {}, Outcome.PASS),
    pytest.param(has_techdocs, annotated(), {}, Outcome.FAIL, id="techdocs-absent"),
    pytest.param(
        has_techdocs, with_key("backstage.io/techdocs-ref", ""), {}, Outcome.FAIL, id="blank"
    ),
    *(
        pytest.param(has_oncall, with_key(key, "X123"), {}, Outcome.PASS, id=key)
        for key in ONCALL_ANNOTATIONS
    ),
    pytest.param(has_oncall, annotated(), {}, Outcome.FAIL, id="oncall-none"),
    pytest.param(
        has_oncall, with_key("pagerduty.com/service-id", ""), {}, Outcome.FAIL, id="oncall-blank"
    ),
]


@pytest.mark.parametrize(("check", "entity", "params", "expected"), CASES)
def test_outcome(
    check: Check, entity: dict[str, Any], params: dict[str, Any], expected: Outcome
) -> None:
    result = run_check(check, entity, params=params)
    assert result.outcome == expected, result.message


def test_oncall_evidence_names_the_annotation_found() -> None:
    result = run_check(has_oncall, with_key("opsgenie.com/team", "payments"))
    assert result.evidence == {"annotation": "opsgenie.com/team", "value": "payments"}
    assert result.message == (
        "component:default/example has the on-call annotation opsgenie.com/team."
    )


def test_pattern_mismatch_message() -> None:
    result = run_check(
        has_annotation, with_key(SLUG, "acme/payments"), params={"key": SLUG, "pattern": "^pay"}
    )
    assert result.message == (
        "component:default/example has the github.com/project-slug annotation 'acme/payments', "
        "which does not match /^pay/."
    )


BAD_PARAMS = [
    pytest.param({}, id="key-missing"),
    pytest.param({"key": ""}, id="key-empty"),
    pytest.param({"key": SLUG, "pattern": "("}, id="bad-regex"),
    pytest.param({"key": SLUG, "value": "x"}, id="unknown-key"),
]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_params(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        has_annotation.parse_params(params)


def test_remediation_names_the_annotation() -> None:
    params = has_annotation.parse_params({"key": SLUG})
    assert f"        {SLUG}: <value>" in has_annotation.remediation_for(params)
