"""Metric thresholds: `pass_when` / `warn_when` decide the outcome of a check that
reports a number (a built-in one like `file_count`, or a pushed value), keep the value
and show it with the threshold; and what a track file may not say about them."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecard.entity import Entity
from scorecard.problems import ConfigError
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome, Result
from scorecard.runner import evaluate
from scorecard.sdk import check
from scorecard.testing import make_entity
from scorecard.thresholds import Comparison, Threshold
from scorecard.tracks import load_track

HEADER = "apiVersion: scorecard/v1\nkind: Track\nid: t\ntitle: T\n"


@pytest.mark.parametrize(
    ("text", "value", "holds"),
    [
        (">= 80", 80, True), (">= 80", 79.9, False), ("> 80", 80, False), ("<5", 4, True),
        ("<= 5", 5.0, True), ("== 0", 0, True), ("!= 0", 0, False), (">= 80%", 81, True),
        ("  >=  -1.5e1 ", -15, True), (80, 80, True),
    ],
)  # fmt: skip
def test_a_comparison_holds_as_written(text: object, value: float, holds: bool) -> None:
    assert Comparison.parse(text).holds(value) is holds


@pytest.mark.parametrize("text", ["80", "=> 80", ">= eighty", ">=", "", ">= 1 2", True, None])
def test_a_comparison_that_is_not_one_is_refused_with_the_form_to_write(text: object) -> None:
    with pytest.raises(ValueError, match="threshold"):
        Comparison.parse(text)


def test_the_threshold_decides_pass_warn_and_fail_and_keeps_the_value() -> None:
    threshold = Threshold(Comparison.parse(">= 80"), Comparison.parse(">= 60"))
    judged = [threshold.apply(Result.measured(v, f"Coverage is {v}%.")) for v in (85, 70, 12.5)]
    assert [r.outcome for r in judged] == [Outcome.PASS, Outcome.WARN, Outcome.FAIL]
    assert judged[1].message == "Coverage is 70% (value 70; passes when >= 80, warns when >= 60)."
    assert judged[2].evidence == {
        "value": 12.5, "threshold": {"pass_when": ">= 80", "warn_when": ">= 60"},
    }  # fmt: skip
    # What says nothing was measured stands as it is.
    unknown = Result.unknown("The repository could not be read.")
    assert threshold.apply(unknown) is unknown


def test_a_pass_without_a_number_under_a_threshold_is_an_error_not_a_pass() -> None:
    threshold = Threshold(Comparison.parse(">= 1"))
    for value in (None, "12", True, float("nan")):
        result = threshold.apply(Result.passed("Counted.", value=value))
        assert result.outcome is Outcome.ERROR
        assert "reported no number" in result.message


@check(id="slow_metric", title="A metric read asynchronously", remediation="Raise it.")
async def slow_metric(entity: object) -> Result:
    """Three, counted asynchronously."""
    return Result.measured(3, "Three of them.")


@check(id="no_metric", title="A check that reports no number", remediation="None.")
def no_metric(entity: object) -> Result:
    """Passes, with no number."""
    return Result.passed("Fine.")


def _load(tmp_path: Path, registry: CheckRegistry, body: str) -> object:
    path = tmp_path / "track.yaml"
    path.write_text(HEADER + body)
    return load_track(path, registry)


def test_file_count_with_a_threshold_through_a_run(tmp_path: Path, registry: CheckRegistry) -> None:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    for name in ("test_a.py", "test_b.py", "helpers.py"):
        (repo / "tests" / name).write_text("")
    local = CheckRegistry([*registry, slow_metric, no_metric])
    track = _load(
        tmp_path,
        local,
        """\
levels:
  - id: bronze
    checks:
      - check: file_count
        id: tests
        with: {path: "tests/**/test_*.py"}
        pass_when: ">= 2"
  - id: silver
    checks:
      - check: file_count
        id: many-tests
        with: {path: "tests/**/test_*.py"}
        pass_when: ">= 10"
        warn_when: ">= 1"
      - check: slow_metric
        pass_when: "< 3"
      - check: no_metric
        pass_when: ">= 1"
        required: false
""",
    )
    # The repository is the folder of the entity's catalog file.
    entity = Entity(make_entity(name="svc").raw, source=repo / "catalog-info.yaml")
    report = evaluate([entity], [track])  # type: ignore[list-item]
    results = {r.check_id: r.result for r in report.results}
    assert results["tests"].outcome is Outcome.PASS
    assert results["tests"].evidence["value"] == 2
    assert results["tests"].evidence["matches"] == ["tests/test_a.py", "tests/test_b.py"]
    assert results["many-tests"].outcome is Outcome.WARN
    assert "(value 2; passes when >= 10, warns when >= 1)" in results["many-tests"].message
    assert results["slow_metric"].outcome is Outcome.FAIL
    assert results["no_metric"].outcome is Outcome.ERROR
    # A warning blocks nothing; the async metric's failure holds silver back.
    assert report.certifications[0].level == "bronze"


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ("{check: external}", "levels[0].checks[0]", "an external check needs its own `id`"),
        ("{check: has_owner, max_age: 1d}", "levels[0].checks[0]", "`max_age` is for external"),
        ("{check: has_owner, warn_when: '>= 1'}", "levels[0].checks[0]", "needs a `pass_when`"),
        ("{check: has_owner, pass_when: 'at least 80'}", "levels[0].checks[0].pass_when",
         "not a threshold"),
        ("{check: external, id: cov, with: {a: 1}}", "levels[0].checks[0]", "takes no `with:`"),
        ("{check: external, id: cov, max_age: soon}", "levels[0].checks[0].max_age",
         "not a duration"),
        ("{check: has_owner, grace: 0s}", "levels[0].checks[0].grace", "shorter than 1s"),
    ],
)  # fmt: skip
def test_a_bad_check_entry_names_file_line_and_key(
    tmp_path: Path, registry: CheckRegistry, entry: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, registry, f"levels:\n  - id: bronze\n    checks:\n      - {entry}\n")
    shown = [str(problem) for problem in error.value.problems]
    assert any("track.yaml:8:" in line and key in line and message in line for line in shown), shown


def test_an_external_check_has_the_words_the_track_gives_it(
    tmp_path: Path, registry: CheckRegistry
) -> None:
    track = _load(
        tmp_path,
        registry,
        """\
levels:
  - id: bronze
    checks:
      - check: external
        id: coverage
        title: Coverage of at least 80%
        description: Line coverage reported by CI.
        remediation: Write tests.
        docs: https://example.org/coverage
        pass_when: ">= 80"
        max_age: 7d
""",
    )
    (coverage,) = track.checks  # type: ignore[attr-defined]
    assert coverage.external and not track.reusable  # type: ignore[attr-defined]
    assert (coverage.title, coverage.description, coverage.remediation, coverage.docs_url) == (
        "Coverage of at least 80%", "Line coverage reported by CI.", "Write tests.",
        "https://example.org/coverage",
    )  # fmt: skip
    assert str(coverage.threshold.pass_when) == ">= 80"
    assert coverage.max_age.days == 7
    # Without anything pushed (a run with no store), its result is unknown and says so.
    report = evaluate([make_entity()], [track])  # type: ignore[list-item]
    (result,) = report.results
    assert result.result.outcome is Outcome.UNKNOWN
    assert "no result reported for coverage" in result.result.message
