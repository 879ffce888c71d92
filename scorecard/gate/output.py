"""What a gate prints and writes: a plain-text summary for CI logs, JSON, JUnit XML for test
reporters, and Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`.

The JSON shape is stable; `parse_json` reads it back into an equal `GateReport`:

    {
      "passed": true,                  # every requirement met
      "mode": "local",                 # "local" or "remote"
      "baseline": "main",              # what the change was compared with, or null
      "drafts_left_out": ["new-std"],  # only when draft tracks of the gate: section
                                       # were left out, not gated
      "results": [{
        "entity": "component:default/payments",
        "track": "production-readiness",
        "title": "Production readiness",
        "levels": ["bronze", "silver", "gold"],   # lowest first
        "required": "silver",
        "reached": "bronze",           # or null: no level reached
        "met": false,
        "allow_errors": false,
        "baseline": {"level": "silver"},          # or null without a baseline
        "checks": [{"id": "has_runbook", "title": "Has a runbook", "level": "silver",
                    "required": true, "outcome": "fail",   # or null: not evaluated
                    "message": "...", "remediation": "...",
                    "exemption": null}],       # or the exemption in effect (below)
        "blocking": ["has_runbook"],   # the checks that hold the requirement back
        "changes": [{"id": "has_runbook", "title": "Has a runbook",
                     "before": "pass",  # null: a new check
                     "after": "fail"}]  # null: the check is gone
      }]
    }

A check's exemption has the shape of the server's API (`GET /api/v1/entities/...`):

    {"id": 4,                          # null: defined in a file, outside any server
     "track": "production-readiness",  # null: every track that has the check
     "justification": "...", "expires_at": "2027-03-01T00:00:00+00:00",
     "approved_by": "group:default/platform",  # "file:<path>" for an exemption file's
     "source": "api",                  # "api", or the file that defines it
     "needed": true}                   # false: the check passes (or does not apply) anyway

An exempted check counts as passing for the level and never blocks; it keeps its own
outcome, and every format shows it as exempted ("exempted until <date>: <justification>"),
never as a plain pass.

In JUnit XML, failures and errors are exactly what blocks the gate (plus one testcase per
requirement that fails when it is not met); checks that fail above the required level, or
errors a gate allows, are reported as skipped, so a test reporter fails only when the
gate does. An exempted check that does not pass is skipped with the exemption as its
message; one that passes anyway passes, its system-out saying the exemption is unneeded.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from scorecard.gate.model import CheckChange, CheckVerdict, GateReport, TrackVerdict
from scorecard.results import NON_BLOCKING, Outcome
from scorecard.waivers import Waiver

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"

_EXEMPTED = "⊘"

_MARKS: dict[Outcome | None, str] = {
    Outcome.FAIL: "✘",
    Outcome.ERROR: "‼",
    Outcome.UNKNOWN: "?",
    None: "·",
}

# What a check does now, for the change sentence ("has_runbook now fails").
_VERBS: dict[Outcome, str] = {
    Outcome.PASS: "passes",
    Outcome.FAIL: "fails",
    Outcome.WARN: "warns",
    Outcome.NOT_APPLICABLE: "does not apply",
    Outcome.UNKNOWN: "cannot be determined",
    Outcome.ERROR: "errors",
}


# -- shared wording ----------------------------------------------------------------------


def _label(outcome: Outcome | None) -> str:
    return "not evaluated" if outcome is None else outcome.value.replace("_", " ")


def _fix(check: CheckVerdict) -> str:
    """The remediation, for a check that answered `fail` or `warn`. One that could not be
    checked (error, unknown, not evaluated) gets none: its message says why, and what the
    fix would add may be there already."""
    return check.remediation if check.outcome in (Outcome.FAIL, Outcome.WARN) else ""


def _level(level: str | None) -> str:
    return level or "no level"


def _exempted(v: TrackVerdict) -> list[CheckVerdict]:
    """The checks with an exemption in effect, whatever their level and outcome."""
    return [c for c in v.checks if c.exemption is not None]


def _exemption_notes(check: CheckVerdict) -> list[str]:
    """ "exempted until 2027-03-01 00:00 UTC: <justification>", and whether it is unneeded."""
    if check.exemption is None:
        return []
    notes = [check.exemption.describe()]
    if not check.exemption_needed and check.outcome is not None:
        notes.append(f"the exemption is unneeded: {check.id} {_VERBS[check.outcome]} anyway")
    return notes


def _headline(v: TrackVerdict) -> str:
    """One sentence: is the requirement met, and where the entity stands."""
    if v.met:
        reached = (
            "" if v.reached_level in (None, v.required_level) else f" (reached {v.reached_level})"
        )
        return f"{v.entity_ref} meets {v.track_id} {v.required_level}{reached}"
    if v.required_level not in v.levels:
        known = ", ".join(v.levels) or "none"
        return f"{v.entity_ref}: {v.track_id} has no level {v.required_level} (levels: {known})"
    if v.reached_level is None:
        return f"{v.entity_ref} has no level on {v.track_id}; {v.required_level} is required"
    return f"{v.entity_ref} is at {v.reached_level} on {v.track_id}; {v.required_level} is required"


def _levels_up_to_required(v: TrackVerdict) -> list[str]:
    if v.required_level not in v.levels:
        return []
    return v.levels[: v.levels.index(v.required_level) + 1]


def _allowed_errors(v: TrackVerdict) -> list[CheckVerdict]:
    """Required checks that errored but do not block, because the gate allows errors."""
    if not v.allow_errors:
        return []
    wanted = _levels_up_to_required(v)
    return [
        c
        for c in v.checks
        if c.required
        and c.level_id in wanted
        and c.outcome is Outcome.ERROR
        and c.exemption is None
    ]


def _went_bad(change: CheckChange) -> bool:
    return (
        change.after is not None
        and change.after not in NON_BLOCKING
        and (change.before is None or change.before in NON_BLOCKING)
    )


def _went_good(change: CheckChange) -> bool:
    return (
        change.before is not None
        and change.before not in NON_BLOCKING
        and (change.after is None or change.after in NON_BLOCKING)
    )


def _reason(change: CheckChange) -> str:
    if change.after is None:
        return f"{change.id} removed"
    if change.before is None:
        return f"new check {change.id} {_VERBS[change.after]}"
    return f"{change.id} now {_VERBS[change.after]}"


def _change_sentence(v: TrackVerdict) -> str:
    """ "this change drops production-readiness from silver to bronze: has_runbook now fails"."""
    before, after = _level(v.baseline_level), _level(v.reached_level)
    if v.level_change == 0:
        return f"this change keeps {v.track_id} at {after}"
    if v.level_change < 0:
        sentence, why = f"this change drops {v.track_id} from {before} to {after}", _went_bad
    else:
        sentence, why = f"this change raises {v.track_id} from {before} to {after}", _went_good
    # An exempted check moves no level, whatever its outcome does.
    exempted = {c.id for c in _exempted(v)}
    reasons = [_reason(c) for c in v.changes if why(c) and c.id not in exempted]
    return f"{sentence}: {', '.join(reasons)}" if reasons else sentence


def _change_items(v: TrackVerdict) -> list[str]:
    exempted = {c.id for c in _exempted(v)}
    return [_change_item(c) + (" (exempted)" if c.id in exempted else "") for c in v.changes]


def _change_item(change: CheckChange) -> str:
    """ "has_runbook: pass → fail", "new check x: fail" or "check y removed"."""
    if change.after is None:
        return f"check {change.id} removed"
    if change.before is None:
        return f"new check {change.id}: {change.after.value}"
    return f"{change.id}: {change.before.value} → {change.after.value}"


def _tally(report: GateReport) -> str:
    total = len(report.verdicts)
    if report.met:
        return f"Gate passed: {total} of {total} requirements met."
    unmet = sum(not v.met for v in report.verdicts)
    return f"Gate failed: {unmet} of {total} requirements not met."


def _drafts_note(report: GateReport) -> str | None:
    """The draft tracks of the `gate:` section that were not gated, said once."""
    drafts = report.drafts_left_out
    if not drafts:
        return None
    names = ", ".join(drafts)
    verb, it = ("is a draft", "it") if len(drafts) == 1 else ("are drafts", "them")
    return (
        f"Not gated: {names} {verb}, previewed and not enforced "
        f"(remove `draft: true` to gate on {it})."
    )


def _indent(text: str, first: str, rest: str) -> list[str]:
    """`text` as lines, the first after `first`, the others after `rest`."""
    lines = text.splitlines() or [""]
    return [first + lines[0], *(rest + line for line in lines[1:])]


# -- text --------------------------------------------------------------------------------


def render_text(report: GateReport) -> str:
    """The summary a CI log shows: a headline per requirement, what blocks it, and the tally."""
    blocks = [_text_verdict(v) for v in report.verdicts]
    note = _drafts_note(report)
    return "\n\n".join([*blocks, _tally(report), *([note] if note else [])])


def _text_verdict(v: TrackVerdict) -> str:
    lines = [f"{'✔' if v.met else '✘'} {_headline(v)}"]
    for check in v.blocking:
        lines += _text_check(check)
    for check in _allowed_errors(v):
        lines += _text_check(check, note=" (errors allowed)")
    for check in _exempted(v):
        lines += _text_exempted(check)
    if v.has_baseline:
        lines.append(f"    {_change_sentence(v)}")
        lines += [f"        {item}" for item in _change_items(v)]
    return "\n".join(lines)


def _text_check(check: CheckVerdict, note: str = "") -> list[str]:
    head = f"    {_MARKS[check.outcome]} {_label(check.outcome)}  {check.id} ({check.level_id}): "
    lines = _indent(check.message + note, head, " " * 8)
    if _fix(check):
        lines += _indent(_fix(check), "        fix: ", " " * 13)
    return lines


def _text_exempted(check: CheckVerdict) -> list[str]:
    """ "⊘ exempted (fail)  has_runbook (silver): <message>", then the exemption."""
    head = f"    {_EXEMPTED} exempted ({_label(check.outcome)})  {check.id} ({check.level_id}): "
    lines = _indent(check.message, head, " " * 8)
    for note in _exemption_notes(check):
        lines += _indent(note, " " * 8, " " * 10)
    return lines


# -- JSON --------------------------------------------------------------------------------


def render_json(report: GateReport) -> str:
    """The report in the shape documented above, indented."""
    document: dict[str, Any] = {
        "passed": report.met,
        "mode": report.mode,
        "baseline": report.baseline,
    }
    if report.drafts_left_out:
        document["drafts_left_out"] = list(report.drafts_left_out)
    document["results"] = [_verdict_to_json(v) for v in report.verdicts]
    return json.dumps(document, indent=2, ensure_ascii=False)


def _verdict_to_json(v: TrackVerdict) -> dict[str, Any]:
    return {
        "entity": v.entity_ref,
        "track": v.track_id,
        "title": v.track_title,
        "levels": list(v.levels),
        "required": v.required_level,
        "reached": v.reached_level,
        "met": v.met,
        "allow_errors": v.allow_errors,
        "baseline": {"level": v.baseline_level} if v.has_baseline else None,
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "level": c.level_id,
                "required": c.required,
                "outcome": _outcome_to_json(c.outcome),
                "message": c.message,
                "remediation": c.remediation,
                "exemption": _exemption_to_json(c),
            }
            for c in v.checks
        ],
        "blocking": [c.id for c in v.blocking],
        "changes": [
            {
                "id": c.id,
                "title": c.title,
                "before": _outcome_to_json(c.before),
                "after": _outcome_to_json(c.after),
            }
            for c in v.changes
        ],
    }


def _outcome_to_json(outcome: Outcome | None) -> str | None:
    return None if outcome is None else outcome.value


def _exemption_to_json(check: CheckVerdict) -> dict[str, Any] | None:
    waiver = check.exemption
    if waiver is None:
        return None
    return {
        "id": waiver.exemption_id,
        "track": waiver.track_id,
        "justification": waiver.justification,
        "expires_at": waiver.expires_at.isoformat(),
        "approved_by": waiver.approved_by,
        "source": waiver.source or "api",
        "needed": check.exemption_needed,
    }


def parse_json(text: str) -> GateReport:
    """Read back what `render_json` wrote. Raises ValueError on anything else."""
    try:
        document = json.loads(text)
        return GateReport(
            verdicts=[_verdict_from_json(r) for r in document["results"]],
            mode=document["mode"],
            baseline=document["baseline"],
            # Absent when no draft was left out.
            drafts_left_out=list(document.get("drafts_left_out", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a scorecard gate report: {exc!r}") from exc


def _verdict_from_json(result: dict[str, Any]) -> TrackVerdict:
    baseline = result["baseline"]
    return TrackVerdict(
        entity_ref=result["entity"],
        track_id=result["track"],
        track_title=result["title"],
        levels=list(result["levels"]),
        required_level=result["required"],
        reached_level=result["reached"],
        checks=[
            CheckVerdict(
                id=c["id"],
                title=c["title"],
                level_id=c["level"],
                required=c["required"],
                outcome=_outcome_from_json(c["outcome"]),
                message=c["message"],
                remediation=c["remediation"],
                exemption=_exemption_from_json(result["entity"], c["id"], c.get("exemption")),
            )
            for c in result["checks"]
        ],
        allow_errors=result["allow_errors"],
        baseline_level=None if baseline is None else baseline["level"],
        has_baseline=baseline is not None,
        changes=[
            CheckChange(
                id=c["id"],
                title=c["title"],
                before=_outcome_from_json(c["before"]),
                after=_outcome_from_json(c["after"]),
            )
            for c in result["changes"]
        ],
    )


def _outcome_from_json(value: str | None) -> Outcome | None:
    return None if value is None else Outcome(value)


def _exemption_from_json(
    entity_ref: str, check_id: str, value: dict[str, Any] | None
) -> Waiver | None:
    """`needed` is left out: it follows from the check's outcome."""
    if value is None:
        return None
    source = value["source"]
    return Waiver(
        exemption_id=value.get("id"),
        entity_ref=entity_ref,
        track_id=value.get("track"),
        check_id=check_id,
        justification=value["justification"],
        expires_at=datetime.fromisoformat(value["expires_at"]),
        approved_by=value.get("approved_by"),
        source=None if source == "api" else source,
    )


# -- JUnit XML ---------------------------------------------------------------------------

_COUNTS = ("tests", "failures", "errors", "skipped")


def render_junit(report: GateReport) -> str:
    """JUnit XML: a testsuite per requirement, a testcase per check and one for the gate."""
    root = ET.Element("testsuites", name="scorecard")
    totals = dict.fromkeys(_COUNTS, 0)
    for v in report.verdicts:
        suite = _junit_suite(v)
        root.append(suite)
        for key in _COUNTS:
            totals[key] += int(suite.get(key, "0"))
    for key in _COUNTS:
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _junit_suite(v: TrackVerdict) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{v.entity_ref} {v.track_id}")
    blocking = {c.id for c in v.blocking}
    cases = [_junit_gate_case(v), *(_junit_check_case(v, c, c.id in blocking) for c in v.checks)]
    suite.set("tests", str(len(cases)))
    for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(key, str(sum(case.find(tag) is not None for case in cases)))
    suite.extend(cases)
    return suite


def _junit_gate_case(v: TrackVerdict) -> ET.Element:
    case = ET.Element("testcase", classname=v.track_id, name=f"level {v.required_level} required")
    if not v.met:
        failure = ET.SubElement(case, "failure", message=_headline(v))
        failure.text = "\n".join(f"{c.id}: {_label(c.outcome)}" for c in v.blocking)
    return case


def _junit_check_case(v: TrackVerdict, check: CheckVerdict, blocking: bool) -> ET.Element:
    case = ET.Element(
        "testcase", classname=f"{v.track_id}.{check.level_id}", name=f"{check.id}: {check.title}"
    )
    outcome = check.outcome
    if blocking:
        tag = "error" if outcome is Outcome.ERROR else "failure"
        problem = ET.SubElement(
            case, tag, message=f"{check.id} ({_label(outcome)}): {check.message}"
        )
        problem.text = _details(check)
    elif check.exemption is not None:
        details = "\n".join(
            [f"{check.id} ({_label(outcome)}): {check.message}", *_exemption_notes(check)]
        )
        if outcome is Outcome.PASS:
            ET.SubElement(case, "system-out").text = details
        else:
            skipped = ET.SubElement(case, "skipped", message=check.exemption.describe())
            skipped.text = details
    elif outcome is Outcome.WARN:
        ET.SubElement(case, "system-out").text = _details(check)
    elif outcome is not Outcome.PASS:
        skipped = ET.SubElement(case, "skipped", message=_skip_reason(v, check))
        skipped.text = check.message
    return case


def _details(check: CheckVerdict) -> str:
    lines = [f"{check.id} ({check.level_id}): {check.message}"]
    if _fix(check):
        lines.append(f"fix: {_fix(check)}")
    return "\n".join(lines)


def _skip_reason(v: TrackVerdict, check: CheckVerdict) -> str:
    """Why a check that did not pass still blocks nothing."""
    if check.outcome is Outcome.NOT_APPLICABLE:
        return "not applicable"
    if not check.required:
        why = "optional"
    elif check.level_id in _levels_up_to_required(v):
        why = "errors allowed"
    else:
        why = f"not required for {v.required_level}"
    return f"{_label(check.outcome)}, {why}"


# -- Markdown ----------------------------------------------------------------------------


def render_markdown(report: GateReport) -> str:
    """For a pull-request comment or `$GITHUB_STEP_SUMMARY`: a table, then the details."""
    heading = "### scorecard gate: " + ("passed ✅" if report.met else "failed ❌")
    parts = [heading, _markdown_table(report)]
    parts += [_markdown_details(v) for v in report.verdicts if _has_details(v)]
    parts.append(_tally(report))
    note = _drafts_note(report)
    if note:
        parts.append(note)
    return "\n\n".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _markdown_table(report: GateReport) -> str:
    rows = ["| entity | track | required | reached | result |", "| --- | --- | --- | --- | --- |"]
    for v in report.verdicts:
        cells = [
            v.entity_ref,
            v.track_id,
            v.required_level,
            _level(v.reached_level),
            _markdown_result(v),
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def _markdown_result(v: TrackVerdict) -> str:
    """ "✅ met", "❌ not met", and how many checks are exempted, if any."""
    result = "✅ met" if v.met else "❌ not met"
    exempted = len(_exempted(v))
    return f"{result} ({_EXEMPTED} {exempted} exempted)" if exempted else result


def _has_details(v: TrackVerdict) -> bool:
    changed = v.has_baseline and (v.level_change != 0 or bool(v.changes))
    return not v.met or changed or bool(_exempted(v))


def _markdown_details(v: TrackVerdict) -> str:
    lines = [
        f"#### {'✅' if v.met else '❌'} {v.entity_ref} · {v.track_id}",
        "",
        f"{_headline(v)}.",
    ]
    if v.blocking:
        lines.append("")
        for check in v.blocking:
            head = f"- **{_label(check.outcome)}** `{check.id}` ({check.level_id}): "
            lines += _indent(check.message, head, "  ")
            if _fix(check):
                lines += _indent(_fix(check), "  fix: ", "  ")
    if _exempted(v):
        lines.append("")
        for check in _exempted(v):
            head = (
                f"- {_EXEMPTED} **exempted** ({_label(check.outcome)}) "
                f"`{check.id}` ({check.level_id}): "
            )
            lines += _indent(check.message, head, "  ")
            for note in _exemption_notes(check):
                lines += _indent(note, "  ", "  ")
    if v.has_baseline:
        sentence = _change_sentence(v)
        lines += ["", f"{sentence[0].upper()}{sentence[1:]}."]
        if v.changes:
            lines.append("")
            lines += [f"- {item}" for item in _change_items(v)]
    return "\n".join(lines)


# -- writing -----------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[GateReport], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
}


def write_outputs(
    report: GateReport,
    *,
    output_format: str = "text",
    output: Path | None,
    environ: Mapping[str, str],
) -> str:
    """Write the report where asked and return what to print on stdout.

    Without `output`, that is the report in `output_format`; with it, the report goes to
    that file and stdout gets the text summary. The Markdown is always appended to the file
    `$GITHUB_STEP_SUMMARY` names, when it is set.
    """
    render = RENDERERS.get(output_format)
    if render is None:
        known = ", ".join(RENDERERS)
        raise ValueError(f"unknown output format {output_format!r} (known: {known})")
    rendered = render(report)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered + "\n", encoding="utf-8")
    summary = environ.get(STEP_SUMMARY_VARIABLE)
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(report) + "\n")
    return rendered if output is None else render_text(report)
