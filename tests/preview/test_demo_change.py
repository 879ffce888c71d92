"""`scorecard preview` over the bundled demo workspace (no scorecard.yaml, no database):
the runbook required for bronze, compared with the workspace's own production-readiness
track evaluated on the same catalog."""

from __future__ import annotations

from pathlib import Path

from tests.preview.conftest import PRODUCTION_READINESS, invoke, preview_json


def test_lists_exactly_the_entities_that_lose_bronze_with_the_check(
    runbook_change: Path, bronze_losses: dict[str, tuple[str, str]]
) -> None:
    report = preview_json(runbook_change)

    assert report["baseline"] == "tracks"
    assert report["baseline_label"] == "the workspace's tracks"
    [track] = report["tracks"]
    assert track["track"] == "production-readiness" and not track["new"]
    assert {m["entity"]: m["now"] for m in track["lost"]} == {
        ref: level for ref, (level, _) in bronze_losses.items()
    }
    for move in track["lost"]:
        assert move["after"] is None
        assert move["checks"] == [
            {
                "id": "has_runbook",
                "title": "Has a runbook",
                "level": "bronze",
                "outcome": "fail",
                "message": bronze_losses[move["entity"]][1],
                "reason": "moved from silver to bronze",
            }
        ]
    assert track["gained"] == [] and track["entered"] == [] and track["left"] == []
    lost = len(bronze_losses)
    assert track["counts"]["after"]["bronze"] == track["counts"]["now"]["bronze"] - lost
    assert track["counts"]["after"]["none"] == track["counts"]["now"]["none"] + lost
    # The runbook check fails for as many entities as before: it only moved.
    runbook = next(c for c in track["failing"] if c["id"] == "has_runbook")
    assert runbook["now"] == runbook["after"] > 0 and runbook["level"] == "bronze"
    assert track["seconds"] > 0 and report["seconds"] >= track["seconds"]


def test_the_text_report(runbook_change: Path, bronze_losses: dict[str, tuple[str, str]]) -> None:
    result = invoke("preview", runbook_change)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "production-readiness — Production readiness" in out
    assert f"Would lose a level ({len(bronze_losses)}):" in out
    for ref, (level, message) in bronze_losses.items():
        assert f"{ref.replace(':default/', ':')}  {level} → none" in out
        assert f"has_runbook (bronze) fail: {message} — moved from silver to bronze" in out
    assert "Checks failing most" in out
    assert "Compared with the workspace's tracks" in out and "nothing was stored" in out


def test_the_markdown_names_each_entity_losing_bronze(
    runbook_change: Path, bronze_losses: dict[str, tuple[str, str]]
) -> None:
    result = invoke("preview", runbook_change, "--format", "markdown")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "## scorecard preview"
    assert lines[2].startswith("Compared with the workspace's tracks · ")
    assert "### Production readiness (`production-readiness`)" in lines
    noun = "entity loses" if len(bronze_losses) == 1 else "entities lose"
    assert f"<details><summary>{len(bronze_losses)} {noun} a level</summary>" in lines
    for ref, (level, message) in bronze_losses.items():
        at = lines.index(f"- `{ref}`: {level} → no level")
        assert lines[at + 1] == (
            f"  - `has_runbook` (bronze) fail: {message} — moved from silver to bronze"
        )


def test_an_unchanged_track_changes_nothing() -> None:
    report = preview_json(PRODUCTION_READINESS)

    [track] = report["tracks"]
    assert track["lost"] == [] and track["gained"] == []
    assert track["counts"]["now"] == track["counts"]["after"]
    assert all(c["now"] == c["after"] for c in track["failing"])


def test_a_new_track_is_scored_for_the_first_time(tmp_path: Path) -> None:
    new = tmp_path / "docs.yaml"
    new.write_text(
        "apiVersion: scorecard/v1\nkind: Track\nid: docs-first\ntitle: Docs first\n"
        "filter: {kind: Component}\nlevels:\n  - id: bronze\n    checks: [has_techdocs]\n"
    )

    report = preview_json(new)

    [track] = report["tracks"]
    assert track["new"] is True
    scored = sum(track["counts"]["after"].values())
    assert scored > 0 and sum(track["counts"]["now"].values()) == 0
    assert track["not_scored"] == {"now": scored, "after": 0}
    assert len(track["entered"]) == scored and track["lost"] == track["gained"] == []
    assert all(c["now"] is None for c in track["failing"])
    markdown = invoke("preview", new, "-f", "markdown").stdout
    assert f"New track: {scored} entities would be scored." in markdown
    assert f"| not scored | {scored} | 0 | -{scored} |" in markdown
