from typing import Any

import pytest
from pydantic import ValidationError

from checks.metadata import (
    has_description,
    has_lifecycle,
    has_links,
    has_system,
    has_tags,
    has_title,
    lifecycle_allowed,
)
from scorecard.results import Outcome
from scorecard.sdk import Check
from scorecard.testing import run_check


def meta(**fields: Any) -> dict[str, Any]:
    return {"metadata": fields}


def spec(**fields: Any) -> dict[str, Any]:
    return {"spec": fields}


LINK = {"url": "https://grafana.example.com/d/payments", "title": "Dashboard"}

CASES = [
    pytest.param(has_description, meta(description="Takes payments."), {}, Outcome.PASS),
    pytest.param(has_description, meta(), {}, Outcome.FAIL, id="description-missing"),
    pytest.param(
        has_description, meta(description="   "), {}, Outcome.FAIL, id="description-blank"
    ),
    pytest.param(
        has_description, meta(description="  12345  "), {"min_length": 5}, Outcome.PASS, id="exact"
    ),
    pytest.param(
        has_description, meta(description="Payments"), {"min_length": 20}, Outcome.FAIL, id="short"
    ),
    pytest.param(has_title, meta(title="Payments API"), {}, Outcome.PASS),
    pytest.param(has_title, meta(), {}, Outcome.FAIL, id="title-missing"),
    pytest.param(has_title, meta(title=""), {}, Outcome.FAIL, id="title-blank"),
    pytest.param(has_tags, meta(tags=["python"]), {}, Outcome.PASS),
    pytest.param(has_tags, meta(tags=[]), {}, Outcome.FAIL, id="tags-empty"),
    pytest.param(has_tags, meta(), {}, Outcome.FAIL, id="tags-missing"),
    pytest.param(has_tags, meta(tags=["python"]), {"min_count": 2}, Outcome.FAIL, id="tags-few"),
    pytest.param(has_tags, meta(tags=["a", "b"]), {"min_count": 2}, Outcome.PASS, id="tags-enough"),
    # Only strings count as tags.
    pytest.param(has_tags, meta(tags=[1, None]), {}, Outcome.FAIL, id="tags-not-strings"),
    pytest.param(has_lifecycle, spec(lifecycle="production"), {}, Outcome.PASS),
    pytest.param(has_lifecycle, spec(), {}, Outcome.FAIL, id="lifecycle-missing"),
    pytest.param(lifecycle_allowed, spec(lifecycle="production"), {}, Outcome.PASS),
    pytest.param(lifecycle_allowed, spec(lifecycle="Experimental"), {}, Outcome.PASS, id="case"),
    pytest.param(lifecycle_allowed, spec(lifecycle="beta"), {}, Outcome.FAIL, id="not-allowed"),
    pytest.param(lifecycle_allowed, spec(), {}, Outcome.FAIL, id="allowed-missing"),
    pytest.param(
        lifecycle_allowed, spec(lifecycle="GA"), {"allowed": ["ga"]}, Outcome.PASS, id="custom"
    ),
    pytest.param(
        lifecycle_allowed,
        spec(lifecycle="production"),
        {"allowed": ["ga"]},
        Outcome.FAIL,
        id="custom-fail",
    ),
    pytest.param(has_system, spec(system="payments"), {}, Outcome.PASS),
    pytest.param(has_system, spec(), {}, Outcome.FAIL, id="system-missing"),
    pytest.param(has_system, {"kind": "API", "spec": {}}, {}, Outcome.FAIL, id="system-api"),
    pytest.param(
        has_system, {"kind": "Resource", "spec": {"system": "s"}}, {}, Outcome.PASS, id="resource"
    ),
    pytest.param(has_system, {"kind": "Group"}, {}, Outcome.NOT_APPLICABLE, id="system-group"),
    pytest.param(has_system, {"kind": "System"}, {}, Outcome.NOT_APPLICABLE, id="system-system"),
    pytest.param(has_links, meta(links=[LINK]), {}, Outcome.PASS),
    pytest.param(has_links, meta(), {}, Outcome.FAIL, id="links-missing"),
    pytest.param(has_links, meta(links=[{"title": "x"}]), {}, Outcome.FAIL, id="link-no-url"),
    pytest.param(has_links, meta(links=[LINK]), {"min_count": 2}, Outcome.FAIL, id="links-few"),
    pytest.param(
        has_links, meta(links=[LINK, {"url": "https://x"}]), {"min_count": 2}, Outcome.PASS
    ),
]


@pytest.mark.parametrize(("check", "entity", "params", "expected"), CASES)
def test_outcome(
    check: Check, entity: dict[str, Any], params: dict[str, Any], expected: Outcome
) -> None:
    result = run_check(check, entity, params=params)
    assert result.outcome == expected, result.message


MESSAGES = [
    pytest.param(
        has_description,
        meta(description="Payments"),
        {"min_length": 20},
        "component:default/example has a description of 8 characters; at least 20 required.",
    ),
    pytest.param(
        has_tags,
        meta(tags=["python"]),
        {"min_count": 2},
        "component:default/example has 1 tag (python); at least 2 required.",
    ),
    pytest.param(
        lifecycle_allowed,
        spec(lifecycle="beta"),
        {},
        "component:default/example has the lifecycle 'beta', which is not one of production, "
        "experimental, deprecated.",
    ),
    pytest.param(
        has_system,
        {"kind": "Group"},
        {},
        "group:default/example is a Group; only components, APIs and resources belong to a system.",
    ),
    pytest.param(
        has_links, meta(), {}, "component:default/example has 0 links; at least 1 required."
    ),
]


@pytest.mark.parametrize(("check", "entity", "params", "message"), MESSAGES)
def test_message(
    check: Check, entity: dict[str, Any], params: dict[str, Any], message: str
) -> None:
    assert run_check(check, entity, params=params).message == message


def test_evidence_is_data() -> None:
    result = run_check(has_links, meta(links=[LINK, {"url": " "}]))
    assert result.evidence == {"urls": [LINK["url"]], "min_count": 1}


BAD_PARAMS = [
    pytest.param(has_description, {"min_length": 0}, id="min-length-zero"),
    pytest.param(has_tags, {"min_count": 0}, id="min-count-zero"),
    pytest.param(has_links, {"min_count": "many"}, id="min-count-text"),
    pytest.param(lifecycle_allowed, {"allowed": []}, id="allowed-empty"),
    pytest.param(has_tags, {"minimum": 2}, id="unknown-key"),
]


@pytest.mark.parametrize(("check", "params"), BAD_PARAMS)
def test_bad_params(check: Check, params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        check.parse_params(params)
