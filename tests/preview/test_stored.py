"""`scorecard preview` against a real store after `scorecard run`: the stored entities
evaluated with the changed track and compared with their stored levels, exemptions in
effect as stored, and nothing written to the database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from scorecard.results import NON_BLOCKING
from scorecard.store import Store
from scorecard.workspace import DEMO_DIR, bundled_tracks
from tests.preview.conftest import (
    PRODUCTION_READINESS,
    RUNBOOK_ENTRY,
    invoke,
    preview_json,
    row_counts,
)

TRACK = "production-readiness"


@pytest.fixture
def db(store_url: str) -> str:
    """A store (SQLite, and PostgreSQL when configured) after `scorecard run` of the demo
    workspace."""
    result = invoke("run", "--db", store_url)
    assert result.exit_code == 0, result.output
    return store_url


def _stored_runbook_losses(url: str) -> dict[str, str]:
    """From the store: each entity at a level whose stored runbook result blocks."""
    with Store(url) as store:
        levels = {c.entity_ref: c.level for c in store.certifications(track_id=TRACK)}
        runbook = {r.entity_ref: r for r in store.results(track_id=TRACK, check_id="has_runbook")}
    return {
        ref: level
        for ref, level in levels.items()
        if level is not None and runbook[ref].outcome not in NON_BLOCKING
    }


def test_compared_with_the_stored_levels_and_nothing_is_stored(
    db: str, runbook_change: Path
) -> None:
    expected = _stored_runbook_losses(db)
    assert expected
    before = row_counts(db)

    report = preview_json(runbook_change, "--db", db)

    assert report["baseline"] == "stored"
    assert report["baseline_label"] == "the stored certifications"
    [track] = report["tracks"]
    assert {m["entity"]: m["now"] for m in track["lost"]} == expected
    assert all(m["after"] is None for m in track["lost"])
    assert {c["id"] for m in track["lost"] for c in m["checks"]} == {"has_runbook"}
    assert row_counts(db) == before
    # The markdown says what it was compared with.
    markdown = invoke("preview", runbook_change, "--db", db, "-f", "markdown").stdout
    assert "Compared with the stored certifications · " in markdown
    assert row_counts(db) == before


def test_a_check_removed_lifts_the_entities_it_alone_held_back(db: str, tmp_path: Path) -> None:
    # Computed from the store: entities held below silver by the runbook check alone.
    with Store(db) as store:
        certifications = store.certifications(track_id=TRACK)
        results = store.results(track_id=TRACK)
    blocking: dict[str, set[tuple[str, str]]] = {}
    for r in results:
        if r.required and r.outcome not in NON_BLOCKING:
            blocking.setdefault(r.entity_ref, set()).add((r.level_id, r.check_id))
    expected = {
        c.entity_ref
        for c in certifications
        if c.next_level == "silver"
        and {check for level, check in blocking.get(c.entity_ref, set()) if level == "silver"}
        == {"has_runbook"}
    }
    assert expected, "the demo has an entity held below silver by its runbook alone"
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text(PRODUCTION_READINESS.read_text().replace(RUNBOOK_ENTRY, ""))

    report = preview_json(relaxed, "--db", db)

    [track] = report["tracks"]
    assert {m["entity"] for m in track["gained"]} == expected
    for move in track["gained"]:
        assert move["now"] is not None and move["after"] != move["now"]
        assert move["checks"] == [
            {
                "id": "has_runbook",
                "title": "has_runbook",
                "level": None,
                "outcome": None,
                "message": "",
                "reason": "removed",
            }
        ]
    assert track["lost"] == []
    assert all(c["id"] != "has_runbook" for c in track["failing"])


JUSTIFICATION = "Checkout moves to the new platform next quarter; its runbook comes with it."


def test_exemptions_count_as_stored(tmp_path: Path, runbook_change: Path) -> None:
    # A workspace over the demo with an exemption file: the runbook of checkout-web is
    # exempted, so it keeps bronze whatever the change does.
    expires = (date.today() + timedelta(days=30)).isoformat()
    (tmp_path / "exemptions.yaml").write_text(
        "apiVersion: scorecard/v1\nkind: Exemption\nentity: component:default/checkout-web\n"
        f"track: {TRACK}\ncheck: has_runbook\njustification: {JUSTIFICATION}\n"
        f"expires: {expires}\n"
    )
    url = f"sqlite:///{tmp_path / 'exempt.db'}"
    config = tmp_path / "scorecard.yaml"
    config.write_text(
        f"catalog: [{DEMO_DIR / 'catalog' / 'catalog-info.yaml'}]\n"
        f"tracks: [{bundled_tracks()}]\nchecks: [{DEMO_DIR / 'checks'}]\n"
        f"database: {url}\nexemptions: {{files: [exemptions.yaml]}}\n"
    )
    assert invoke("--config", config, "run").exit_code == 0
    before = row_counts(url)

    stored = preview_json(runbook_change, config=config)
    files = preview_json(runbook_change, "--no-store", config=config)

    assert stored["baseline"] == "stored" and files["baseline"] == "tracks"
    for report in (stored, files):
        [track] = report["tracks"]
        assert "component:default/checkout-web" not in {m["entity"] for m in track["lost"]}
    assert row_counts(url) == before


def test_an_empty_database_is_not_a_store(tmp_path: Path, runbook_change: Path) -> None:
    # A database file without scorecard's tables: the workspace's catalog and tracks are
    # the baseline, and the file is left as it was.
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")

    report = preview_json(runbook_change, "--db", f"sqlite:///{empty}")

    assert report["baseline"] == "tracks"
    assert empty.read_bytes() == b""
