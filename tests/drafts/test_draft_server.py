"""A draft track through a real server on loopback: evaluated and stored like any track,
previewed on the pages and in the API, marked as a draft everywhere it is shown, and left
out of badges, remote gates and every total across tracks."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scorecard.cli import app as cli
from scorecard.workspace import Workspace
from tests.drafts.conftest import ADMIN_ENV, DRAFT, PUBLISHED, DraftWorkspace, section
from tests.serving import ServedApp

GATE_SECTION = f"""\
  - {{track: {PUBLISHED}, require: bronze}}
  - {{track: {DRAFT}, require: silver}}
"""


@dataclass
class Site:
    url: str
    workspace: DraftWorkspace

    def get(self, path: str) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            return http.get(path)

    def json(self, path: str) -> Any:
        response = self.get(f"/api/v1{path}")
        assert response.status_code == 200, response.text
        return response.json()

    def page(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, response.text
        return response.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workspace = DraftWorkspace(tmp_path_factory.mktemp("drafts"))
    workspace.write(gate=GATE_SECTION)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ADMIN_ENV, secrets.token_urlsafe(24))
        # An empty store: the server evaluates every track, the draft too, as it starts.
        with ServedApp(Workspace.load(workspace.config)) as served:
            yield Site(served.url, workspace)


def test_a_draft_is_evaluated_and_stored_and_says_so_in_the_api(site: Site) -> None:
    tracks = {t["id"]: t for t in site.json("/tracks")}
    assert tracks[DRAFT]["draft"] is True and tracks[PUBLISHED]["draft"] is False
    assert site.json(f"/tracks/{DRAFT}")["draft"] is True
    # The preview counts: the levels the draft would give, from its kept roll-up.
    preview = site.json(f"/tracks/{DRAFT}/rollup")
    assert preview["draft"] is True
    assert preview["levels"] == {"silver": 1, "bronze": 2}
    assert site.json(f"/tracks/{PUBLISHED}/rollup")["draft"] is False
    card = {t["track"]: t for t in site.json("/entities/component/default/payments")["tracks"]}
    assert card[DRAFT]["draft"] is True and card[DRAFT]["level"] == "silver"
    assert card[PUBLISHED]["draft"] is False


def test_the_badge_of_a_draft_says_draft_never_the_level(site: Site) -> None:
    svg = site.get(f"/badges/component/default/payments/{DRAFT}.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert f"{DRAFT}: draft" in svg.text and "silver" not in svg.text
    endpoint = site.get(f"/badges/component/default/payments/{DRAFT}.json")
    assert endpoint.status_code == 200
    assert endpoint.json() == {
        "schemaVersion": 1,
        "label": DRAFT,
        "message": "draft",
        "color": "9f9f9f",
    }
    # The published track's badge of the same entity shows its level.
    assert site.get(f"/badges/component/default/payments/{PUBLISHED}.json").json()["message"] == (
        "silver"
    )
    # An entity never evaluated is still that, draft or not.
    missing = site.get(f"/badges/component/default/nowhere/{DRAFT}.json")
    assert missing.status_code == 404 and missing.json()["message"] == "not evaluated"


def test_the_overview_counts_the_published_tracks_and_shows_the_draft_apart(site: Site) -> None:
    html = site.page("/")
    published = section(html, ">Tracks<")
    assert "Operations" in published and "On-call readiness" not in published
    drafts = section(html, 'id="drafts"')
    assert "On-call readiness" in drafts and 'class="tag draft"' in drafts
    # The preview counts on the draft's bar.
    assert 'aria-label="silver: 1, bronze: 2"' in drafts
    # The totals are the published track's alone: 3 entities × 2 checks, 5 passing.
    checks = site.json(f"/tracks/{PUBLISHED}/rollup")["checks"]
    passed = sum(c["counts"]["pass"] for c in checks)
    applicable = sum(c["total"] - c["counts"]["not_applicable"] for c in checks)
    assert (passed, applicable) == (5, 6)
    assert re.search(rf">{round(100 * passed / applicable)}%<.*of {applicable} check results", html)
    # has_oncall fails twice, on the draft only: not among the published failures.
    failing = section(html, "Checks failing most often")
    assert "has_description" in failing and "has_oncall" not in failing


def test_the_draft_track_page_is_a_preview(site: Site) -> None:
    html = site.page(f"/tracks/{DRAFT}")
    assert re.search(r"<h1>On-call readiness\s*<span class=\"tag draft\"", html)
    assert 'class="draft-note"' in html and "Removing <code>draft: true</code>" in html
    levels = section(html, "Levels it would give (preview)")
    assert 'aria-label="silver: 1, bronze: 2"' in levels
    # A published track's page has neither.
    published = site.page(f"/tracks/{PUBLISHED}")
    assert 'class="draft-note"' not in published and "Levels reached" in published


def test_the_entity_page_marks_the_draft_and_lists_it_after_the_published(site: Site) -> None:
    html = site.page("/catalog/component/default/payments")
    summary = section(html, ">Tracks<")
    assert summary.index("Operations") < summary.index("On-call readiness")
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"#track-on-call\">.*?</tr>", summary, re.S)
    assert row is not None and 'class="tag draft"' in row.group(0) and "preview" in row.group(0)
    assert f'alt="{DRAFT}: draft"' in row.group(0)
    card = section(html, f'id="track-{DRAFT}"')
    assert 'class="track-card draft"' in card and 'class="draft-note"' in card
    assert 'class="tag draft"' not in section(html, f'id="track-{PUBLISHED}"')


def test_the_owner_page_keeps_the_draft_out_of_its_summaries(site: Site) -> None:
    html = site.page("/owners/group:default/data")
    by_track = section(html, "Levels by track")
    assert "Operations" in by_track and "On-call readiness" not in by_track
    # What would move the team's entities up: the published track's fixes only.
    moves = section(html, "What would move the most entities up a level")
    assert "has_description" in moves and "has_oncall" not in moves
    drafts = section(html, 'id="drafts"')
    assert "On-call readiness" in drafts and 'class="tag draft"' in drafts
    assert "has_oncall" in drafts  # what the draft would ask of the team, apart
    entities = section(html, ">Entities<")
    assert re.search(r"On-call readiness\s*<span class=\"tag draft\"", entities)


def test_the_owner_roll_up_lists_the_draft_last_marked(site: Site) -> None:
    rollups = site.json("/owners/group/default/data/rollup")
    assert [(r["track"], r["draft"]) for r in rollups] == [(PUBLISHED, False), (DRAFT, True)]
    assert rollups[1]["levels"] == {"silver": 1, "bronze": 1}


def test_metrics_mark_which_tracks_are_drafts(site: Site) -> None:
    text = site.page("/metrics")
    assert f'scorecard_track_draft{{track="{DRAFT}"}} 1.0' in text
    assert f'scorecard_track_draft{{track="{PUBLISHED}"}} 0.0' in text
    # The per-track results are kept for the draft too.
    assert re.search(rf'scorecard_results\{{outcome="fail",track="{DRAFT}"\}} 2\.0', text)


def test_a_remote_gate_refuses_a_draft_track(site: Site) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config", str(site.workspace.config), "gate", "--server", site.url,
            "--entity", "component:default/payments", "--track", DRAFT, "--require", "bronze",
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert (
        f"track {DRAFT} is a draft: it is previewed, not enforced; "
        "remove `draft: true` to gate on it"
    ) in result.stderr
    assert result.stdout == ""


def test_a_remote_gate_on_the_gate_section_leaves_the_draft_out(site: Site) -> None:
    # ledger is at bronze on both tracks: were the draft's silver gated, it would fail.
    result = CliRunner().invoke(
        cli,
        [
            "--config", str(site.workspace.config), "gate", "--server", site.url,
            "--entity", "component:default/ledger", "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = result.stdout
    assert '"drafts_left_out": [\n    "on-call"\n  ]' in report
    assert f'"track": "{DRAFT}"' not in report and f'"track": "{PUBLISHED}"' in report
    text = CliRunner().invoke(
        cli,
        [
            "--config", str(site.workspace.config), "gate", "--server", site.url,
            "--entity", "component:default/ledger",
        ],
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "component:default/ledger meets ops bronze" in text.stdout
    assert (
        "Not gated: on-call is a draft, previewed and not enforced "
        "(remove `draft: true` to gate on it)."
    ) in text.stdout
