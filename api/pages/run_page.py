"""The page of one run: how it went, the catalog problems it met, the results it changed
(those that gave no answer listed), and the levels it moved.

A run's changes are read through the history's run indexes (`Store.run_counts`,
`Store.run_unanswered_changes`, `Store.run_level_changes`): a run over a large catalog
may leave hundreds of thousands of rows, and the page shows 50 of each kind with the
totals. For the latest finished run the results as they stand now are shown too, from
the roll-ups, and labelled apart: they are not all this run's doing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ServiceDep
from api.pages.routes import PageNotFound
from api.pages.signin import require_reader
from api.pages.templating import render
from api.routes.runs import MAX_RUN_ID
from scorecard.results import Outcome
from scorecard.store import ResultChange, RunRecord, RunStatus
from scorecard.store.queries import TrackRollup
from scorecard.store.run_changes import UNANSWERED, LevelChangeRow, RunCounts
from scorecard.tracks import Track

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

# Rows of each list on the page, and what is shown of the texts catalog files and checks
# write: the page stays well under 200 kB whatever the run left.
ROWS = 50
NOW_ROWS = 25
NOW_CHECKS = 30
PROBLEMS_SHOWN = 50
MAX_TEXT = 300

# The order outcomes are counted in on the page.
OUTCOME_ORDER = (
    Outcome.PASS,
    Outcome.FAIL,
    Outcome.WARN,
    Outcome.ERROR,
    Outcome.UNKNOWN,
    Outcome.NOT_APPLICABLE,
)

RunId = Annotated[int, Path(ge=1, le=MAX_RUN_ID)]
SectionPage = Annotated[int, Query(ge=1, le=1_000_000)]


@dataclass(frozen=True, slots=True)
class SectionPager:
    """Page `number` of one list of the page, in its own query parameter (`param`), so
    that paging one list keeps the page of the other; links land on the list (`anchor`)."""

    number: int
    total: int
    request: Request
    param: str
    anchor: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / ROWS))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * ROWS + 1

    @property
    def last(self) -> int:
        return min(self.number * ROWS, self.total)

    def link(self, number: int) -> str:
        url = self.request.url.include_query_params(**{self.param: number})
        return f"{url.path}?{url.query}#{self.anchor}"


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """A catalog problem as stored (`FILE[:LINE:COL]: [key: ]reason`), split for reading."""

    where: str
    reason: str


def split_problem(text: str) -> CatalogProblem:
    """The file (with line and column) and the reason of a stored problem. The file is
    what comes before the first ": " (a path or URL has none; `C:\\` and `https://` are
    not followed by a space)."""
    where, separator, reason = text.partition(": ")
    return CatalogProblem(where, reason) if separator else CatalogProblem("", text)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    service: ServiceDep,
    run_id: RunId,
    errors_page: SectionPage = 1,
    levels_page: SectionPage = 1,
) -> Response:
    require_reader(request, service)
    run = service.store.run(run_id)
    if run is None:
        raise PageNotFound(f"There is no run {run_id}.", "The runs page lists every run.")
    counts, unanswered, level_rows = _changes(request, service, run, errors_page, levels_page)
    config = service.config.current
    tracks = config.tracks_by_id
    latest = service.store.latest_finished_run_id()
    started = service.store.audit_log(
        object_type="run", object_id=str(run_id), action="run.started", limit=1
    )
    shards = service.store.shards.progress(run_id)
    return render(
        request,
        "run.html",
        run=run,
        actor=started.items[0].actor if started.items else None,
        scope=_scope(run, tracks),
        shards=shards if shards.total else None,
        tracks=tracks,
        check_link=_check_links(tracks),
        counts=counts,
        tally=[(outcome, counts.results.counts[outcome]) for outcome in OUTCOME_ORDER],
        unanswered=unanswered,
        level_rows=level_rows,
        errors_pager=SectionPager(
            errors_page, counts.results.unanswered, request, "errors_page", "unanswered"
        ),
        levels_pager=SectionPager(levels_page, counts.levels, request, "levels_page", "levels"),
        problems=[split_problem(text) for text in run.problems[:PROBLEMS_SHOWN]],
        problems_total=len(run.problems),
        latest_id=latest,
        now=_now(request, service, tracks) if latest == run_id else None,
        max_text=MAX_TEXT,
    )


def _changes(
    request: Request, service: ServiceDep, run: RunRecord, errors_page: int, levels_page: int
) -> tuple[RunCounts, list[ResultChange], list[LevelChangeRow]]:
    """What the run changed: counted, and the pages of its rows asked for.

    Counting reads every history row of the run: at 100,000 entities a run that changed
    every result has hundreds of thousands. So, as the roll-ups are, counts and pages are
    remembered until the next run finishes (a later run may record first observations
    under this one); a run still going, which may write more at any moment (shard by
    shard), is read afresh."""
    store = service.store
    run_id = run.id
    assert run_id is not None

    def remembered(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if run.status == RunStatus.RUNNING:
            return compute()
        return request.app.state.page_memo.get(service, ("run", run_id, *key), compute)

    counts = remembered(("counts",), lambda: store.run_counts(run_id))
    errors_offset = (errors_page - 1) * ROWS
    levels_offset = (levels_page - 1) * ROWS
    # Past the last row, nothing to read.
    unanswered = (
        remembered(
            ("unanswered", errors_offset),
            lambda: store.run_unanswered_changes(run_id, limit=ROWS, offset=errors_offset),
        )
        if errors_offset < counts.results.unanswered
        else []
    )
    level_rows = (
        remembered(
            ("levels", levels_offset),
            lambda: store.run_level_changes(run_id, limit=ROWS, offset=levels_offset),
        )
        if levels_offset < counts.levels
        else []
    )
    return counts, unanswered, level_rows


def _scope(run: RunRecord, tracks: dict[str, Track]) -> dict[str, Any]:
    """What the run covered: one entity or every one, some tracks or every configured one
    (a run of every track lists them all in its scope); `partial` unless everything."""
    scope = run.scope or {}
    entity = scope.get("entity")
    listed = scope.get("tracks") or []
    some_tracks = bool(listed) and not set(listed) >= set(tracks)
    return {
        "entity": entity,
        "tracks": listed if some_tracks else [],
        "partial": bool(entity) or some_tracks,
    }


def _check_links(tracks: dict[str, Track]) -> dict[tuple[str, str], tuple[str, str]]:
    """(track id, check id) → (title, the check's row on its track's page), for every
    configured check; a check no longer configured has none."""
    return {
        (track.id, check.id): (check.title, f"/tracks/{track.id}#check-{check.level_id}-{check.id}")
        for track in tracks.values()
        for check in track.checks
    }


def _now(request: Request, service: ServiceDep, tracks: dict[str, Track]) -> dict[str, Any]:
    """The results as they stand now over the published tracks, as the overview counts
    them (roll-ups, remembered until the next run finishes), and the first of those that
    gave no answer."""
    published = {track_id for track_id, track in tracks.items() if not track.draft}
    memo = request.app.state.page_memo
    rollups: list[TrackRollup] = memo.get(service, "rollups", service.store.track_rollups)
    counts = dict.fromkeys(OUTCOME_ORDER, 0)
    checks = []
    for rollup in rollups:
        if rollup.track_id not in published:
            continue
        for check in rollup.checks:
            for outcome in OUTCOME_ORDER:
                counts[outcome] += check.counts[outcome]
            unanswered = {outcome: check.counts[outcome] for outcome in UNANSWERED}
            if any(unanswered.values()):
                checks.append(
                    {"track": tracks[rollup.track_id], "check": check, "counts": unanswered}
                )
    checks.sort(key=lambda c: (-sum(c["counts"].values()), c["track"].id, c["check"].check_id))
    return {
        "counts": list(counts.items()),
        "total": sum(counts.values()),
        "unanswered_total": sum(counts[outcome] for outcome in UNANSWERED),
        "checks": checks[:NOW_CHECKS],
        "checks_total": len(checks),
        "rows": memo.get(
            service,
            "unanswered-now",
            lambda: service.store.unanswered_results(published, limit=NOW_ROWS),
        ),
        "drafts": len(tracks) - len(published),
    }
