"""The gate's outputs: text for CI logs, JSON, JUnit XML and Markdown, and where they go."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scorecard.gate.model import CheckChange, CheckVerdict, GateReport, TrackVerdict
from scorecard.gate.output import (
    parse_json,
    render_json,
    render_junit,
    render_markdown,
    render_text,
    write_outputs,
)
from scorecard.results import Outcome
from scorecard.waivers import Waiver

LEVELS = ["bronze", "silver", "gold"]
ENTITY = "component:default/payments"
TRACK = "production-readiness"


def check(
    id: str,
    level: str,
    outcome: Outcome | None,
    *,
    required: bool = True,
    message: str = "",
    remediation: str = "",
    exemption: Waiver | None = None,
) -> CheckVerdict:
    return CheckVerdict(
        id=id,
        title=id.replace("_", " ").capitalize(),
        level_id=level,
        required=required,
        outcome=outcome,
        message=message or f"{id} says {_outcome_word(outcome)}.",
        remediation=remediation,
        exemption=exemption,
    )


def _outcome_word(outcome: Outcome | None) -> str:
    return "nothing" if outcome is None else outcome.value


def verdict(reached: str | None, checks: list[CheckVerdict], **fields: Any) -> TrackVerdict:
    base: dict[str, Any] = {
        "entity_ref": ENTITY,
        "track_id": TRACK,
        "track_title": "Production readiness",
        "levels": list(LEVELS),
        "required_level": "silver",
        "reached_level": reached,
        "checks": checks,
    }
    return TrackVerdict(**{**base, **fields})


RUNBOOK = check(
    "has_runbook",
    "silver",
    Outcome.FAIL,
    message="docs/runbook.md is missing from payments.",
    remediation="Add docs/runbook.md.\nSee the runbook template.",
)

# Reaches gold: an optional check warns, one does not apply.
MET_GOLD = verdict(
    "gold",
    [
        check("has_readme", "bronze", Outcome.PASS),
        check("has_owner", "bronze", Outcome.NOT_APPLICABLE),
        check("has_docs", "silver", Outcome.WARN, required=False, remediation="Write docs."),
        check("has_slo", "gold", Outcome.PASS),
    ],
)

# At bronze: the runbook fails; gold is out of reach too, but that blocks nothing.
DROPPED = verdict(
    "bronze",
    [
        check("has_readme", "bronze", Outcome.PASS),
        RUNBOOK,
        check("has_slo", "gold", Outcome.FAIL),
    ],
    baseline_level="silver",
    has_baseline=True,
    changes=[
        CheckChange("has_runbook", "Has runbook", Outcome.PASS, Outcome.FAIL),
        CheckChange("x", "X", None, Outcome.FAIL),
        CheckChange("y", "Y", Outcome.PASS, None),
    ],
)

# An error that the gate allows, and one above the required level.
ALLOWED_ERROR = verdict(
    "silver",
    [
        check("has_readme", "bronze", Outcome.PASS),
        check("has_ci", "silver", Outcome.ERROR, message="The CI API timed out."),
        check("has_slo", "gold", Outcome.ERROR),
    ],
    allow_errors=True,
)

# Unknown and not evaluated block; so does an error the gate does not allow.
UNSURE = verdict(
    None,
    [
        check("has_owner", "bronze", Outcome.UNKNOWN, message="The catalog could not be read."),
        check("has_runbook", "silver", None),
        check("has_ci", "silver", Outcome.ERROR),
        check("has_slo", "gold", Outcome.UNKNOWN),
        check("has_alerts", "gold", None),
    ],
)

RAISED = verdict(
    "silver",
    [check("has_readme", "bronze", Outcome.PASS), check("has_runbook", "silver", Outcome.PASS)],
    baseline_level="bronze",
    has_baseline=True,
    changes=[CheckChange("has_runbook", "Has runbook", Outcome.FAIL, Outcome.PASS)],
)

KEPT = verdict(
    "silver",
    [check("has_readme", "bronze", Outcome.PASS), check("has_runbook", "silver", Outcome.PASS)],
    baseline_level="silver",
    has_baseline=True,
)


JUSTIFICATION = "Payments moves to the new platform in March; its runbook comes along."
EXEMPTED_UNTIL = f"exempted until 2027-03-01 00:00 UTC: {JUSTIFICATION}"


def waiver(check_id: str, **fields: Any) -> Waiver:
    """An exemption from an exemption file, unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "exemption_id": None,
        "entity_ref": ENTITY,
        "track_id": TRACK,
        "check_id": check_id,
        "justification": JUSTIFICATION,
        "expires_at": datetime(2027, 3, 1, tzinfo=UTC),
        "approved_by": "file:exemptions/payments.yaml",
        "source": "exemptions/payments.yaml",
    }
    return Waiver(**{**base, **fields})


# Meets silver only through exemptions: the runbook fails and CI errors, both exempted
# (the error by an exemption granted through the API, on every track); the readme's
# exemption is unneeded, it passes anyway.
EXEMPTED = verdict(
    "silver",
    [
        check("has_readme", "bronze", Outcome.PASS, exemption=waiver("has_readme")),
        replace(RUNBOOK, exemption=waiver("has_runbook")),
        check(
            "has_ci",
            "silver",
            Outcome.ERROR,
            exemption=waiver(
                "has_ci",
                exemption_id=4,
                track_id=None,
                approved_by="group:default/platform",
                source=None,
            ),
        ),
        check("has_slo", "gold", Outcome.FAIL),
    ],
)


def report(*verdicts: TrackVerdict, baseline: str | None = None) -> GateReport:
    return GateReport(verdicts=list(verdicts), mode="local", baseline=baseline)


REPORTS = {
    "met": report(MET_GOLD),
    "dropped": report(DROPPED, baseline="main"),
    "allowed_error": report(ALLOWED_ERROR),
    "unsure": report(UNSURE),
    "raised": report(RAISED, baseline="main"),
    "kept": report(KEPT, baseline="main"),
    "two": report(MET_GOLD, DROPPED, baseline="main"),
    "empty": report(),
    "exempted": report(EXEMPTED),
}


# -- text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("met", f"✔ {ENTITY} meets {TRACK} silver (reached gold)"),
        ("kept", f"✔ {ENTITY} meets {TRACK} silver"),
        ("dropped", f"✘ {ENTITY} is at bronze on {TRACK}; silver is required"),
        ("unsure", f"✘ {ENTITY} has no level on {TRACK}; silver is required"),
    ],
)
def test_text_headline(name: str, expected: str) -> None:
    assert render_text(REPORTS[name]).splitlines()[0] == expected


def test_text_headline_for_a_level_the_track_does_not_have() -> None:
    text = render_text(report(verdict("gold", [], required_level="platinum")))
    assert text.splitlines()[0] == (
        f"✘ {ENTITY}: {TRACK} has no level platinum (levels: bronze, silver, gold)"
    )


def test_text_blocking_check_with_its_remediation() -> None:
    lines = render_text(REPORTS["dropped"]).splitlines()
    i = lines.index("    ✘ fail  has_runbook (silver): docs/runbook.md is missing from payments.")
    assert lines[i + 1 : i + 3] == [
        "        fix: Add docs/runbook.md.",
        "             See the runbook template.",
    ]
    assert not any("has_slo" in line for line in lines), "gold blocks nothing"


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("unsure", "    ? unknown  has_owner (bronze): The catalog could not be read."),
        ("unsure", "    · not evaluated  has_runbook (silver): has_runbook says nothing."),
        ("unsure", "    ‼ error  has_ci (silver): has_ci says error."),
        ("allowed_error", "    ‼ error  has_ci (silver): The CI API timed out. (errors allowed)"),
    ],
)
def test_text_shows_errors_unknowns_and_unevaluated_checks(name: str, line: str) -> None:
    assert line in render_text(REPORTS[name]).splitlines()


@pytest.mark.parametrize("render", [render_text, render_junit, render_markdown])
def test_a_check_that_could_not_be_checked_gets_no_fix(render: Callable[[GateReport], str]):
    """Its message says why; a fix would tell the team to add what may be there already."""
    unanswered = {"has_readme": Outcome.ERROR, "has_license": Outcome.UNKNOWN, "has_ci": None}
    checks = [
        check(id, "bronze", outcome, message=f"No answer from {id}.", remediation="Add it.")
        for id, outcome in unanswered.items()
    ]
    checks.append(check("has_owner", "bronze", Outcome.FAIL, remediation="Name an owner."))
    text = render(report(verdict(None, checks)))
    assert "fix: Name an owner." in text
    assert "Add it." not in text
    assert all(f"No answer from {id}." in text for id in unanswered)


@pytest.mark.parametrize(
    ("name", "sentence", "items"),
    [
        (
            "dropped",
            f"this change drops {TRACK} from silver to bronze: has_runbook now fails, "
            "new check x fails",
            ["has_runbook: pass → fail", "new check x: fail", "check y removed"],
        ),
        (
            "raised",
            f"this change raises {TRACK} from bronze to silver: has_runbook now passes",
            ["has_runbook: fail → pass"],
        ),
        ("kept", f"this change keeps {TRACK} at silver", []),
    ],
)
def test_text_change_against_the_baseline(name: str, sentence: str, items: list[str]) -> None:
    lines = render_text(REPORTS[name]).splitlines()
    i = lines.index(f"    {sentence}")
    assert lines[i + 1 : i + 1 + len(items)] == [f"        {item}" for item in items]


def test_text_the_change_sentence_names_the_check_that_dropped_the_level() -> None:
    dropped = verdict(
        "bronze",
        [RUNBOOK],
        baseline_level="silver",
        has_baseline=True,
        changes=[CheckChange("has_runbook", "Has runbook", Outcome.PASS, Outcome.FAIL)],
    )
    assert (
        "this change drops production-readiness from silver to bronze: has_runbook now fails"
        in render_text(report(dropped))
    )


def test_text_without_a_baseline_has_no_change_sentence() -> None:
    assert "this change" not in render_text(REPORTS["unsure"])


@pytest.mark.parametrize(
    ("name", "tally"),
    [
        ("met", "Gate passed: 1 of 1 requirements met."),
        ("two", "Gate failed: 1 of 2 requirements not met."),
        ("empty", "Gate passed: 0 of 0 requirements met."),
    ],
)
def test_text_last_line(name: str, tally: str) -> None:
    assert render_text(REPORTS[name]).splitlines()[-1] == tally


def test_text_two_passing_requirements() -> None:
    text = render_text(report(MET_GOLD, KEPT))
    assert text.splitlines()[-1] == "Gate passed: 2 of 2 requirements met."


def test_text_is_plain() -> None:
    text = render_text(REPORTS["two"])
    assert "[bold" not in text and "\x1b[" not in text


# -- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_json_round_trips(name: str) -> None:
    original = REPORTS[name]
    restored = parse_json(render_json(original))
    assert restored == original
    for v in restored.verdicts:
        assert all(c.outcome is None or type(c.outcome) is Outcome for c in v.checks)


def test_json_documented_shape() -> None:
    document = json.loads(render_json(REPORTS["two"]))
    assert set(document) == {"passed", "mode", "baseline", "results"}
    assert (document["passed"], document["mode"], document["baseline"]) == (False, "local", "main")
    met, dropped = document["results"]
    assert set(dropped) == {
        "entity",
        "track",
        "title",
        "levels",
        "required",
        "reached",
        "met",
        "allow_errors",
        "baseline",
        "checks",
        "blocking",
        "changes",
    }
    assert (met["met"], met["reached"], met["baseline"]) == (True, "gold", None)
    assert (dropped["met"], dropped["blocking"]) == (False, ["has_runbook"])
    assert dropped["baseline"] == {"level": "silver"}
    assert dropped["checks"][1] == {
        "id": "has_runbook",
        "title": "Has runbook",
        "level": "silver",
        "required": True,
        "outcome": "fail",
        "message": "docs/runbook.md is missing from payments.",
        "remediation": "Add docs/runbook.md.\nSee the runbook template.",
        "exemption": None,
    }
    assert dropped["changes"][1] == {"id": "x", "title": "X", "before": None, "after": "fail"}


def test_json_not_evaluated_is_null() -> None:
    checks = json.loads(render_json(REPORTS["unsure"]))["results"][0]["checks"]
    assert checks[1]["outcome"] is None


@pytest.mark.parametrize("text", ["", "[]", '{"mode": "local"}', '{"results": [{}]}'])
def test_parse_json_rejects_other_documents(text: str) -> None:
    with pytest.raises(ValueError, match="not a scorecard gate report"):
        parse_json(text)


# -- JUnit -------------------------------------------------------------------------------


def counts(element: ET.Element) -> tuple[int, ...]:
    return tuple(int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))


def junit(name: str) -> ET.Element:
    return ET.fromstring(render_junit(REPORTS[name]))


def case(root: ET.Element, check_id: str) -> ET.Element:
    return next(c for c in root.iter("testcase") if c.get("name", "").startswith(f"{check_id}:"))


@pytest.mark.parametrize(
    ("name", "suites", "total"),
    [
        # tests counts the gate's own testcase: checks + 1.
        ("met", [(5, 0, 0, 1)], (5, 0, 0, 1)),
        ("dropped", [(4, 2, 0, 1)], (4, 2, 0, 1)),
        ("allowed_error", [(4, 0, 0, 2)], (4, 0, 0, 2)),
        ("unsure", [(6, 3, 1, 2)], (6, 3, 1, 2)),
        ("two", [(5, 0, 0, 1), (4, 2, 0, 1)], (9, 2, 0, 2)),
        ("empty", [], (0, 0, 0, 0)),
    ],
)
def test_junit_counts(
    name: str, suites: list[tuple[int, int, int, int]], total: tuple[int, int, int, int]
) -> None:
    root = junit(name)
    assert root.tag == "testsuites" and root.get("name") == "scorecard"
    assert counts(root) == total
    found = root.findall("testsuite")
    assert [counts(s) for s in found] == suites
    for suite in found:
        assert suite.get("name") == f"{ENTITY} {TRACK}"
        assert len(suite.findall("testcase")) == counts(suite)[0]


def test_junit_failure_names_the_check_and_carries_the_remediation() -> None:
    runbook = case(junit("dropped"), "has_runbook")
    assert runbook.get("classname") == f"{TRACK}.silver"
    assert runbook.get("name") == "has_runbook: Has runbook"
    failure = runbook.find("failure")
    assert failure is not None
    assert "has_runbook" in failure.get("message", "")
    assert "docs/runbook.md is missing from payments." in failure.get("message", "")
    assert "fix: Add docs/runbook.md.\nSee the runbook template." in (failure.text or "")


def test_junit_the_gate_is_a_testcase() -> None:
    root = junit("two")
    gates = [c for c in root.iter("testcase") if c.get("name") == "level silver required"]
    assert len(gates) == 2
    assert gates[0].find("failure") is None
    failure = gates[1].find("failure")
    assert failure is not None
    assert failure.get("message") == f"{ENTITY} is at bronze on {TRACK}; silver is required"
    assert "has_runbook: fail" in (failure.text or "")


@pytest.mark.parametrize(
    ("name", "check_id", "tag", "message"),
    [
        ("dropped", "has_readme", None, None),
        ("dropped", "has_slo", "skipped", "fail, not required for silver"),
        ("met", "has_owner", "skipped", "not applicable"),
        ("allowed_error", "has_ci", "skipped", "error, errors allowed"),
        ("allowed_error", "has_slo", "skipped", "error, not required for silver"),
        ("unsure", "has_owner", "failure", "has_owner (unknown): The catalog could not be read."),
        (
            "unsure",
            "has_runbook",
            "failure",
            "has_runbook (not evaluated): has_runbook says nothing.",
        ),
        ("unsure", "has_ci", "error", "has_ci (error): has_ci says error."),
        ("unsure", "has_slo", "skipped", "unknown, not required for silver"),
        ("unsure", "has_alerts", "skipped", "not evaluated, not required for silver"),
    ],
)
def test_junit_outcome(name: str, check_id: str, tag: str | None, message: str | None) -> None:
    testcase = case(junit(name), check_id)
    results = [e for e in testcase if e.tag in ("failure", "error", "skipped")]
    assert [e.tag for e in results] == ([tag] if tag else [])
    if tag:
        assert results[0].get("message") == message


def test_junit_warning_passes_with_its_message_on_stdout() -> None:
    docs = case(junit("met"), "has_docs")
    assert [e.tag for e in docs] == ["system-out"]
    assert docs[0].text == "has_docs (silver): has_docs says warn.\nfix: Write docs."


def test_junit_escapes() -> None:
    nasty = check("has_x", "silver", Outcome.FAIL, message='<a> & "b"', remediation="x < y")
    root = ET.fromstring(render_junit(report(verdict("bronze", [nasty]))))
    failure = case(root, "has_x").find("failure")
    assert failure is not None
    assert failure.get("message") == 'has_x (fail): <a> & "b"'
    assert "fix: x < y" in (failure.text or "")


# -- Markdown ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "heading"),
    [("met", "### scorecard gate: passed ✅"), ("two", "### scorecard gate: failed ❌")],
)
def test_markdown_heading(name: str, heading: str) -> None:
    assert render_markdown(REPORTS[name]).splitlines()[0] == heading


def test_markdown_table() -> None:
    lines = render_markdown(REPORTS["two"]).splitlines()
    i = lines.index("| entity | track | required | reached | result |")
    assert lines[i + 1 : i + 4] == [
        "| --- | --- | --- | --- | --- |",
        f"| {ENTITY} | {TRACK} | silver | gold | ✅ met |",
        f"| {ENTITY} | {TRACK} | silver | bronze | ❌ not met |",
    ]


def test_markdown_escapes_pipes_in_cells() -> None:
    piped = verdict(None, [RUNBOOK], entity_ref="component:default/a|b", track_id="a|b")
    assert "| component:default/a\\|b | a\\|b | silver | no level | ❌ not met |" in (
        render_markdown(report(piped)).splitlines()
    )


def test_markdown_details_of_a_failing_requirement() -> None:
    text = render_markdown(REPORTS["two"])
    assert (
        "- **fail** `has_runbook` (silver): docs/runbook.md is missing from payments.\n"
        "  fix: Add docs/runbook.md.\n"
        "  See the runbook template."
    ) in text
    assert (
        f"This change drops {TRACK} from silver to bronze: has_runbook now fails, "
        "new check x fails."
    ) in text
    assert "- has_runbook: pass → fail\n- new check x: fail\n- check y removed" in text
    assert text.count("#### ") == 1, "the requirement met without a baseline needs no details"


@pytest.mark.parametrize(
    ("name", "details"),
    [("raised", True), ("kept", False), ("met", False), ("unsure", True)],
)
def test_markdown_details_only_when_there_is_something_to_say(name: str, details: bool) -> None:
    assert ("#### " in render_markdown(REPORTS[name])) is details


# -- write_outputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output_format", "render"),
    [
        ("text", render_text),
        ("json", render_json),
        ("junit", render_junit),
        ("markdown", render_markdown),
    ],
)
def test_write_outputs_to_stdout(output_format: str, render: Callable[[GateReport], str]) -> None:
    r = REPORTS["two"]
    printed = write_outputs(r, output_format=output_format, output=None, environ={})
    assert printed == render(r)


def test_write_outputs_defaults_to_text() -> None:
    r = REPORTS["two"]
    assert write_outputs(r, output=None, environ={}) == render_text(r)


@pytest.mark.parametrize("output_format", ["json", "junit", "markdown", "text"])
def test_write_outputs_to_a_file_prints_the_summary(output_format: str, tmp_path: Path) -> None:
    r = REPORTS["two"]
    target = tmp_path / "reports" / "gate.out"
    printed = write_outputs(r, output_format=output_format, output=target, environ={})
    assert printed == render_text(r)
    written = target.read_text(encoding="utf-8")
    if output_format == "json":
        assert parse_json(written) == r
    elif output_format == "junit":
        assert counts(ET.fromstring(written)) == (9, 2, 0, 2)
    else:
        assert written.startswith(printed.splitlines()[0] if output_format == "text" else "###")


def test_write_outputs_appends_to_the_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    r = REPORTS["two"]
    environ = {"GITHUB_STEP_SUMMARY": str(summary)}
    write_outputs(r, output_format="junit", output=tmp_path / "junit.xml", environ=environ)
    write_outputs(r, output_format="json", output=None, environ=environ)
    markdown = render_markdown(r)
    assert summary.read_text(encoding="utf-8") == f"earlier step\n{markdown}\n{markdown}\n"


def test_write_outputs_without_step_summary_writes_nothing_else(tmp_path: Path) -> None:
    write_outputs(REPORTS["met"], output_format="text", output=None, environ={})
    assert list(tmp_path.iterdir()) == []


def test_write_outputs_rejects_an_unknown_format(tmp_path: Path) -> None:
    target = tmp_path / "gate.out"
    summary = tmp_path / "summary.md"
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        write_outputs(
            REPORTS["met"],
            output_format="xml",
            output=target,
            environ={"GITHUB_STEP_SUMMARY": str(summary)},
        )
    assert not target.exists() and not summary.exists()


# -- exemptions --------------------------------------------------------------------------


def test_an_exempted_check_blocks_nothing_and_keeps_its_outcome() -> None:
    assert EXEMPTED.met and EXEMPTED.blocking == []
    assert [c.outcome for c in EXEMPTED.checks[:3]] == [Outcome.PASS, Outcome.FAIL, Outcome.ERROR]
    without = replace(EXEMPTED, checks=[replace(c, exemption=None) for c in EXEMPTED.checks])
    assert [c.id for c in without.blocking] == ["has_runbook", "has_ci"]


@pytest.mark.parametrize(
    ("outcome", "needed"),
    [
        (Outcome.PASS, False),
        (Outcome.NOT_APPLICABLE, False),
        (Outcome.WARN, True),
        (Outcome.FAIL, True),
        (Outcome.ERROR, True),
        (Outcome.UNKNOWN, True),
        (None, True),
    ],
)
def test_an_exemption_is_needed_unless_the_check_passes_anyway(
    outcome: Outcome | None, needed: bool
) -> None:
    assert check("x", "bronze", outcome, exemption=waiver("x")).exemption_needed is needed
    assert not check("x", "bronze", outcome).exemption_needed


def test_text_shows_exempted_checks_with_their_exemption() -> None:
    lines = render_text(REPORTS["exempted"]).splitlines()
    assert lines[0] == f"✔ {ENTITY} meets {TRACK} silver"
    assert lines[1:9] == [
        "    ⊘ exempted (pass)  has_readme (bronze): has_readme says pass.",
        f"        {EXEMPTED_UNTIL}",
        "        the exemption is unneeded: has_readme passes anyway",
        "    ⊘ exempted (fail)  has_runbook (silver): docs/runbook.md is missing from payments.",
        f"        {EXEMPTED_UNTIL}",
        "    ⊘ exempted (error)  has_ci (silver): has_ci says error.",
        f"        {EXEMPTED_UNTIL}",
        "",
    ]
    assert not any("has_slo" in line for line in lines), "gold blocks nothing"


def test_text_an_exempted_error_is_not_an_allowed_one() -> None:
    text = render_text(report(replace(EXEMPTED, allow_errors=True)))
    assert "(errors allowed)" not in text
    assert "⊘ exempted (error)  has_ci (silver)" in text


def test_text_an_exempted_check_moves_no_level_in_the_change_sentence() -> None:
    dropped = replace(
        DROPPED,
        checks=[*DROPPED.checks, check("x", "silver", Outcome.FAIL, exemption=waiver("x"))],
    )
    lines = render_text(report(dropped)).splitlines()
    assert f"    this change drops {TRACK} from silver to bronze: has_runbook now fails" in lines
    assert "        new check x: fail (exempted)" in lines


def test_json_an_exemption_in_the_servers_shape() -> None:
    (result,) = json.loads(render_json(REPORTS["exempted"]))["results"]
    assert result["blocking"] == []
    readme, runbook, ci, slo = (c["exemption"] for c in result["checks"])
    assert runbook == {
        "id": None,
        "track": TRACK,
        "justification": JUSTIFICATION,
        "expires_at": "2027-03-01T00:00:00+00:00",
        "approved_by": "file:exemptions/payments.yaml",
        "source": "exemptions/payments.yaml",
        "needed": True,
    }
    assert (readme["needed"], slo) == (False, None)
    assert ci == {
        "id": 4,
        "track": None,
        "justification": JUSTIFICATION,
        "expires_at": "2027-03-01T00:00:00+00:00",
        "approved_by": "group:default/platform",
        "source": "api",
        "needed": True,
    }


def test_json_without_exemption_fields_reads_as_none() -> None:
    """A report written before exemptions had no `exemption` key."""
    document = json.loads(render_json(REPORTS["dropped"]))
    for check_json in document["results"][0]["checks"]:
        del check_json["exemption"]
    assert parse_json(json.dumps(document)) == REPORTS["dropped"]


def test_junit_an_exempted_check_that_does_not_pass_is_skipped() -> None:
    root = junit("exempted")
    assert counts(root) == (5, 0, 0, 3)  # skipped: runbook and CI exempted, gold's slo
    for check_id, outcome in (("has_runbook", "fail"), ("has_ci", "error")):
        results = [e for e in case(root, check_id) if e.tag in ("failure", "error", "skipped")]
        assert [(e.tag, e.get("message")) for e in results] == [("skipped", EXEMPTED_UNTIL)]
        assert results[0].text is not None
        assert results[0].text.startswith(f"{check_id} ({outcome}): ")
        assert results[0].text.endswith(EXEMPTED_UNTIL)


def test_junit_an_exempted_check_that_passes_anyway_passes_with_a_note() -> None:
    readme = case(junit("exempted"), "has_readme")
    assert [e.tag for e in readme] == ["system-out"]
    assert readme[0].text == (
        "has_readme (pass): has_readme says pass.\n"
        f"{EXEMPTED_UNTIL}\n"
        "the exemption is unneeded: has_readme passes anyway"
    )


def test_markdown_shows_exempted_checks() -> None:
    text = render_markdown(REPORTS["exempted"])
    assert f"| {ENTITY} | {TRACK} | silver | silver | ✅ met (⊘ 3 exempted) |" in text
    assert f"#### ✅ {ENTITY} · {TRACK}" in text  # details, though the requirement is met
    assert (
        "- ⊘ **exempted** (pass) `has_readme` (bronze): has_readme says pass.\n"
        f"  {EXEMPTED_UNTIL}\n"
        "  the exemption is unneeded: has_readme passes anyway\n"
        "- ⊘ **exempted** (fail) `has_runbook` (silver): docs/runbook.md is missing from "
        "payments.\n"
        f"  {EXEMPTED_UNTIL}\n"
        "- ⊘ **exempted** (error) `has_ci` (silver): has_ci says error.\n"
        f"  {EXEMPTED_UNTIL}"
    ) in text
    assert "fix:" not in text


@pytest.mark.parametrize("render", [render_text, render_junit, render_markdown])
def test_an_exempted_check_is_never_a_plain_pass(render: Callable[[GateReport], str]) -> None:
    text = render(REPORTS["exempted"])
    for check_id in ("has_readme", "has_runbook", "has_ci"):
        assert check_id in text
    # JUnit: the skipped ones in their message and text, the passing one in its system-out.
    assert text.count(EXEMPTED_UNTIL) == (5 if render is render_junit else 3)
