"""Rollout preview: what a new or changed track would do to the catalog, before it ships.

A track tightened in a pull request must not surprise hundreds of teams the morning after
it merges. `preview_tracks` evaluates the changed tracks on the catalog's entities and
compares each entity's level with what it is now, storing nothing:

    report = preview_tracks(
        changed,                 # Sequence[Track]: the new or changed tracks
        entities=entities,       # Sequence[Entity]: what to evaluate them on
        baseline="stored",       # or Sequence[Track]: the tracks as they are now
        store=store,             # needed for "stored"; its exemptions apply to both sides
    )
    report.as_json()             # a dict in the shape below (the API answers it)
    render_markdown(report)      # a pull-request comment, bounded for large catalogs

`baseline="stored"`: "now" is each entity's stored certification on the track, as the
last run left it, exemptions included; only the changed tracks are evaluated.
A sequence of tracks: "now" is the track of the same id among them, evaluated on the same
entities with the same exemptions; a changed track with none is new (every entity "not
scored" now). `waivers` are the exemptions in effect (default: the store's, when a store
is given). With a store, both sides are evaluated as a run would be: results pushed for
external checks are the store's, and a check's grace keeps its last stored outcome.
`concurrency`, `timeout`, `git_cache` and `github` are `scorecard.runner.evaluate`'s.

The helpers the CLI, the API and other callers share: `load_track_documents` reads track
documents sent as text (the same safe YAML loading and limits as track files),
`tracks_at_ref` reads track files as a git ref holds them (a baseline), and
`stored_entities` lists a store's entities.

The modules: `compare` (`preview_tracks`, and why each entity moves), `sides` (one side
of the comparison: levels and check states, evaluated or as stored), `report` (the
report and its JSON), `markdown` (the pull-request comment), `documents` (track documents
sent as text, the stored entities) and `baseline` (track files at a git ref).

`as_json()`:

    {"baseline": "stored",                  # or "tracks"
     "baseline_label": "the stored certifications",
     "entities": 9, "seconds": 0.04,
     "tracks": [{
       "track": "production-readiness", "title": "Production readiness",
       "new": false,                        # no such track now
       "draft": false,                      # the changed track is a draft
       "levels": ["bronze", "silver", "gold"],            # after the change, lowest first
       "counts": {"now": {"none": 2, "bronze": 1, ...},   # every level, and "none"
                  "after": {"none": 3, "bronze": 0, ...}},
       "not_scored": {"now": 0, "after": 0},   # entities the track does not apply to
       "lost": [{"entity": "component:default/checkout-web", "now": "bronze",
                 "after": null,                # null: no level
                 "checks": [{"id": "has_runbook", "title": "Has a runbook",
                             "level": "bronze",      # where it stands after the change
                             "outcome": "fail",      # null: the check is gone
                             "message": "docs/runbook.md is missing from checkout-web.",
                             "reason": "moved from silver to bronze"}]}],
       "gained": [...],                     # the same; checks: those no longer blocking
       "entered": ["component:default/x"],  # scored after the change, not now
       "left": [],                          # scored now, not after
       "failing": [{"id": "has_oncall", "title": "...", "level": "silver",
                    "required": true, "now": 3,          # null: a new check
                    "after": 4, "outcomes": {"fail": 4}}],   # fail, warn, error, unknown
       "seconds": 0.02}]}                   # the evaluation of this track, both sides
"""

from scorecard.preview.baseline import tracks_at_ref
from scorecard.preview.compare import STORED, preview_tracks
from scorecard.preview.documents import load_track_documents, stored_entities
from scorecard.preview.markdown import MARKDOWN_CHECKS, MARKDOWN_ENTITIES, render_markdown
from scorecard.preview.report import Cause, CheckFailures, Move, PreviewReport, TrackPreview
from scorecard.preview.sides import FAILING

__all__ = [
    "FAILING",
    "MARKDOWN_CHECKS",
    "MARKDOWN_ENTITIES",
    "STORED",
    "Cause",
    "CheckFailures",
    "Move",
    "PreviewReport",
    "TrackPreview",
    "load_track_documents",
    "preview_tracks",
    "render_markdown",
    "stored_entities",
    "tracks_at_ref",
]
