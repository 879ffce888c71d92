"""What the checks say: a number's noun in the right form ("1 tag", "2 tags"), in messages
and in remediation, and never Python's `None` for a value that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from checks.metadata import has_description, has_links, has_tags
from scorecard.demo.checks.slo import slo_defined
from scorecard.entity import Entity
from scorecard.registry import build_registry
from scorecard.results import Outcome, Result
from scorecard.runner import evaluate
from scorecard.sdk import check
from scorecard.testing import run_check
from scorecard.tracks import load_track


def test_a_description_of_one_character_is_one_character() -> None:
    result = run_check(
        has_description, {"metadata": {"description": "x"}}, params={"min_length": 2}
    )
    assert result.message == (
        "component:default/example has a description of 1 character; at least 2 required."
    )
    passed = run_check(
        has_description, {"metadata": {"description": "ok"}}, params={"min_length": 2}
    )
    assert passed.message == "component:default/example has a description of 2 characters."


@pytest.mark.parametrize(
    ("subject", "params", "one", "two"),
    [
        (has_tags, "min_count", "Add at least 1 tag to", "Add at least 2 tags to"),
        (has_links, "min_count", "Add at least 1 link (", "Add at least 2 links ("),
        (has_description, "min_length", "in at least 1 character:", "in at least 2 characters:"),
        (slo_defined, "min_objectives", "at least 1 objective,", "at least 2 objectives,"),
    ],
    ids=["has_tags", "has_links", "has_description", "slo_defined"],
)
def test_remediation_counts_in_the_right_form(subject, params: str, one: str, two: str) -> None:
    assert subject.params_model is not None
    for number, words in ((1, one), (2, two)):
        text = subject.remediation_for(subject.params_model.model_validate({params: number}))
        assert words in text, text
        assert "(s)" not in text


class Rule(BaseModel):
    files: int = 1
    branch: str | None = None
    owners: list[str | None] = []


@check(
    id="wording_probe",
    title="Wording probe",
    remediation="Add {files:file|files} on {branch} for {owners}; keep {missing:one|many}.",
    params=Rule,
)
def wording_probe(entity: Entity, params: Rule) -> Result:
    """Passes: only its remediation is read."""
    return Result.passed("fine")


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ({}, "Add 1 file on not set for ; keep {missing}."),
        (
            {"files": 3, "branch": "main", "owners": ["a", None]},
            "Add 3 files on main for a, not set; keep {missing}.",
        ),
    ],
)
def test_a_remediation_template_takes_nouns_and_never_says_none(given: dict, text: str) -> None:
    assert wording_probe.remediation_for(Rule.model_validate(given)) == text


def test_an_objective_without_a_name_is_named_by_its_place() -> None:
    files = {"slo.yaml": "objectives:\n  - name:\n    target: 99.9\n  - target: 99\n"}
    result = run_check(slo_defined, {"spec": {"lifecycle": "production"}}, repo=files)
    assert result.outcome is Outcome.PASS
    assert result.message.endswith("defines 2 objectives: #1, #2.")
    assert "None" not in result.message


def test_a_timeout_of_one_second_is_one_second(tmp_path: Path, data_dir: Path) -> None:
    registry = build_registry([data_dir / "faulty_checks"], plugins=False)
    track = load_track(data_dir / "tracks" / "faulty.yaml", registry)
    document = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "svc"},
        "spec": {"owner": "team-a"},
    }
    (tmp_path / "repo").mkdir()
    entity = Entity(document, source=tmp_path / "repo" / "catalog-info.yaml")
    report = evaluate([entity], [track], timeout=1)
    hung = next(r.result for r in report.results if r.check_id == "hangs")
    assert hung.outcome is Outcome.ERROR
    assert hung.message == "Check hangs did not finish within 1 second."
