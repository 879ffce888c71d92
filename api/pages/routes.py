"""The pages: overview, track, entity, owner, runs, exemptions and campaigns, server-rendered
with Jinja2.

Each handler reads what its page shows through bounded queries (pages of 50, roll-ups
counted in the database) and renders one template; nothing ships the whole catalog.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import convert
from api.deps import ServiceDep
from api.pages import present
from api.pages import trends as trend_views
from api.pages.campaign_fixes import page_fixes
from api.pages.memo import PageMemo
from api.pages.signin import (
    end_session,
    is_admin,
    is_writer,
    read_form,
    require_reader,
    safe_next,
    same_origin,
    signed_in,
    start_session,
    token_principal,
)
from api.pages.templating import entity_path, render
from api.routes.campaigns import campaign_detail, list_campaigns
from api.routes.entities import build_scorecard
from api.schemas import ExemptionOut, TrackScorecard
from scorecard.auth import Principal, Role
from scorecard.entity import parse_ref
from scorecard.program.exemptions import MIN_JUSTIFICATION_CHARS, MIN_JUSTIFICATION_WORDS
from scorecard.program.progress import goal_words, share
from scorecard.results import Outcome
from scorecard.service.runs import RunConflict
from scorecard.store import CheckRollup, EntityRecord, ExemptionRecord, ExemptionStatus
from scorecard.store.browse import Blocker, SortKey, TrackEntityFilter
from scorecard.store.directory import catalog_name
from scorecard.store.exemptions import ExemptionError
from scorecard.store.queries import NO_LEVEL
from scorecard.tracks import Track

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
MenuValue = Annotated[str | None, Query(max_length=300)]


class PageNotFound(Exception):
    """A page about something that does not exist: rendered as the friendly 404 page."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Pager:
    """Page `number` of `total` items, `PER_PAGE` at a time, with links that keep the
    other query parameters."""

    number: int
    total: int
    request: Request
    # Query parameters every link sets too (a list page of several sections links each
    # section's next page to that section alone).
    fixed: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PER_PAGE))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * PER_PAGE + 1

    @property
    def last(self) -> int:
        return min(self.number * PER_PAGE, self.total)

    def link(self, number: int) -> str:
        return str(self.request.url.include_query_params(**dict(self.fixed), page=number))


def _offset(number: int) -> int:
    return (number - 1) * PER_PAGE


def _owner_path(ref: str | None) -> str | None:
    return f"/owners/{ref}" if ref else None


def _memo(request: Request) -> PageMemo:
    return request.app.state.page_memo


def _track_or_404(service: ServiceDep, track_id: str) -> Track:
    track = service.config.current.track(track_id)
    if track is None:
        known = ", ".join(t.id for t in service.config.current.tracks)
        raise PageNotFound(f"There is no track “{track_id}”.", f"The tracks are: {known}.")
    return track


# --- overview ---------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, service: ServiceDep, days: trend_views.TrendDays = trend_views.DEFAULT_DAYS
) -> Response:
    require_reader(request, service)
    tracks = service.config.current.tracks
    counted = overview_counts(_memo(request), service, days)
    rollups = {r.track_id: r for r in counted.rollups}
    rows = []
    drafts = []
    failing: list[tuple[Track, CheckRollup]] = []
    unchecked: list[tuple[Track, CheckRollup]] = []
    passed = applicable = 0
    for track in tracks:
        rollup = rollups.get(track.id)
        levels = rollup.levels if rollup else {}
        row = {"track": track, "bar": _level_bar(track, levels), "total": sum(levels.values())}
        if track.draft:
            # A preview: shown apart, and counted in none of the totals and lists below.
            drafts.append(row)
            continue
        rows.append(row)
        for check in rollup.checks if rollup else []:
            passed += check.counts[Outcome.PASS]
            applicable += check.total - check.counts[Outcome.NOT_APPLICABLE]
            if check.counts[Outcome.FAIL]:
                failing.append((track, check))
            if _unchecked(check):
                unchecked.append((track, check))
    failing.sort(key=lambda pair: (-pair[1].counts[Outcome.FAIL], pair[0].id, pair[1].check_id))
    unchecked.sort(key=lambda pair: (-_unchecked(pair[1]), pair[0].id, pair[1].check_id))
    titles = {(t.id, c.id): c.title for t in tracks for c in t.checks}
    return render(
        request,
        "overview.html",
        tracks=rows,
        drafts=drafts,
        pass_rate=passed / applicable if applicable else None,
        results=applicable,
        unchecked_results=sum(_unchecked(check) for _, check in unchecked),
        failing=[
            {"track": t, "check": c, "title": titles.get((t.id, c.check_id), c.check_id)}
            for t, c in failing[:10]
        ],
        unchecked=[
            {"track": t, "check": c, "title": titles.get((t.id, c.check_id), c.check_id)}
            for t, c in unchecked[:10]
        ],
        last_run=service.store.latest_run(),
        entities=counted.entities,
        with_a_track=counted.with_a_track,
        **counted.trends,
    )


@dataclass(frozen=True)
class OverviewCounts:
    """What the overview counts rather than reads: kept in the page memo until a run
    finishes, and counted ahead of the first visitor (`warm_overview`)."""

    rollups: list[Any]  # every track's `TrackRollup`
    entities: int  # every listed entity of the catalog
    # The entities the published tracks apply to, as `scorecard run` counts them; the
    # catalog's other entities (groups, users, ...) are in no track's totals.
    with_a_track: int
    trends: dict[str, Any]  # trends and the leaderboard (api/pages/trends.py)


def overview_counts(memo: PageMemo, service: ServiceDep, days: int) -> OverviewCounts:
    tracks = service.config.current.tracks
    published = tuple(t.id for t in tracks if not t.draft)
    return OverviewCounts(
        rollups=memo.get(service, "rollups", service.store.track_rollups),
        # Counting the catalog is a roll-up like the others: at 100,000 entities it costs
        # more than the rest of the page, and it changes only when a run finishes.
        entities=memo.get(service, "entities", lambda: _count_entities(service)),
        with_a_track=memo.get(
            service,
            ("with a track", published),
            lambda: service.store.count_entities_with_a_track(published),
        ),
        trends=trend_views.overview_trends(memo, service, tracks, days, datetime.now(UTC).date()),
    )


def warm_overview(memo: PageMemo, service: ServiceDep) -> None:
    """Count the overview's default view now, so that its first visitor after the server
    starts or a run finishes reads kept counts (at 100,000 entities the trends and the
    leaderboard take a few tenths of a second to count). A failure is the next
    visitor's to meet, as it would have been."""
    try:
        overview_counts(memo, service, trend_views.DEFAULT_DAYS)
    except Exception:
        log.warning("counting the overview ahead of its visitors failed", exc_info=True)


def _unchecked(check: CheckRollup) -> int:
    """How many of a check's results could not be checked (error or unknown)."""
    return sum(check.counts[outcome] for outcome in present.COULD_NOT_CHECK)


def _count_entities(service: ServiceDep) -> int:
    return service.store.find_entities(
        kind=None,
        owner=None,
        track=None,
        level=None,
        outcome=None,
        query=None,
        limit=1,
        offset=0,
    ).total


def _level_bar(track: Track, levels: dict[str | None, int]) -> list[dict[str, Any]]:
    """The segments of a track's stacked bar, highest level first, none last."""
    total = sum(levels.values())
    order: list[str | None] = [*(lvl.id for lvl in reversed(track.levels)), None]
    segments = []
    for level in order:
        count = levels.get(level, 0)
        if count:
            segments.append(
                {
                    "level": level,
                    "label": level or "none",
                    "count": count,
                    "share": count / total,
                    "colour": present.level_colour(level, track),
                    "link": f"/tracks/{track.id}?level={level or NO_LEVEL}",
                }
            )
    return segments


# --- track ------------------------------------------------------------------------------


@router.get("/tracks/{track_id}", response_class=HTMLResponse)
def track_page(
    request: Request,
    service: ServiceDep,
    track_id: str,
    owner: MenuValue = None,
    kind: MenuValue = None,
    type: MenuValue = None,
    level: MenuValue = None,
    sort: SortKey = SortKey.NAME,
    desc: bool = False,
    page: PageNumber = 1,
) -> Response:
    require_reader(request, service)
    track = _track_or_404(service, track_id)
    where = TrackEntityFilter(
        owner=owner or None, kind=kind or None, type=type or None, level=level or None
    )
    found = service.store.track_entities(
        track.id,
        [lvl.id for lvl in track.levels],
        where,
        sort=sort,
        descending=desc,
        limit=PER_PAGE,
        offset=_offset(page),
    )
    memo = _memo(request)
    rollup = memo.get(service, ("rollup", track.id), lambda: service.store.track_rollup(track.id))
    check_rollups = {(c.level_id, c.check_id): c for c in rollup.checks}
    return render(
        request,
        "track.html",
        track=track,
        bar=_level_bar(track, rollup.levels),
        evaluated=sum(rollup.levels.values()),
        check_rollups=check_rollups,
        rows=[
            {"entity": item.entity, "level": item.level, "next": item.next_level}
            for item in found.items
        ],
        pager=Pager(page, found.total, request),
        menus=memo.get(service, ("menus", track.id), lambda: service.store.track_menus(track.id)),
        where=where,
        sort=sort.value,
        desc=desc,
        level_menu=[*(lvl.id for lvl in track.levels), NO_LEVEL],
        sort_link=lambda key: _sort_link(request, key, sort.value, desc),
    )


def _sort_link(request: Request, key: str, current: str, descending: bool) -> str:
    flip = key == current and not descending
    return str(request.url.include_query_params(sort=key, desc=str(flip).lower(), page=1))


# --- entity -----------------------------------------------------------------------------


def _entity_or_404(service: ServiceDep, kind: str, namespace: str, name: str) -> EntityRecord:
    ref = f"{kind.lower()}:{namespace.lower()}/{name}"
    record = service.store.entity(ref)
    if record is None:
        raise PageNotFound(
            f"No entity {ref} has been evaluated.",
            "It may not be in the catalog, no track may apply to it, or no run has read it yet.",
        )
    return record


# Required checks with these outcomes hold a level back, so a form offers to exempt them.
REQUESTABLE = frozenset({Outcome.FAIL, Outcome.ERROR, Outcome.UNKNOWN})
DEFAULT_DAYS = 30
# As the JSON API bounds them (api.schemas.ExemptionIn, DecisionIn).
MAX_JUSTIFICATION = 2000
MAX_NOTE = 1000


@router.get("/catalog/{kind}/{namespace}/{name}", response_class=HTMLResponse)
def entity_page(
    request: Request, service: ServiceDep, kind: str, namespace: str, name: str
) -> Response:
    require_reader(request, service)
    view = _entity_view(request, service, kind, namespace, name)
    record: EntityRecord = view["entity"]
    return render(
        request,
        "entity.html",
        **view,
        page_path=request.url.path,
        queued=request.query_params.get("run"),
        requested=_requested(service, record.ref, request.query_params.get("exemption")),
        form={
            "target": request.query_params.get("exempt", ""),
            "justification": "",
            "days": str(view["default_days"]),
            "every_track": False,
            "approve": False,
        },
        exemption_error=None,
    )


def _entity_view(
    request: Request, service: ServiceDep, kind: str, namespace: str, name: str
) -> dict[str, Any]:
    """What the entity page shows, whoever asks and however it was reached."""
    record = _entity_or_404(service, kind, namespace, name)
    card = build_scorecard(service, record)
    now = datetime.now(UTC)
    history = defaultdict(list)
    for change in service.store.certification_history(record.ref):
        history[change.track_id].append(present.LevelPoint(change.at, change.level))
    config = service.config.current
    base = str(request.base_url).rstrip("/")
    pending = service.store.exemptions(
        status=[ExemptionStatus.PENDING], entity_ref=record.ref, limit=PER_PAGE, offset=0
    )
    asked = {(p.track_id, p.check_id) for p in pending.items}
    tracks = []
    requestable = []
    for track_card in card.tracks:
        track = config.track(track_card.track)
        assert track is not None  # build_scorecard keeps configured tracks only
        badge = f"{base}{track_card.badge}"
        page_url = f"{base}{entity_path(record.ref)}"
        tracks.append(
            {
                "card": track_card,
                "track": track,
                # One point is no history: the page says so rather than draw a flat line.
                "chart": present.history_chart(track, history[track.id][-200:], now)
                if len(history[track.id]) > 1
                else None,
                "first_point": history[track.id][0] if history[track.id] else None,
                "badge": track_card.badge,
                "holding": present.holding_back(c.outcome for c in track_card.blocking),
                "markdown": f"[![{track.title}]({badge})]({page_url})",
                "html": f'<a href="{page_url}"><img alt="{track.title}" src="{badge}"></a>',
            }
        )
        for lvl in track_card.levels:
            for check in lvl.checks:
                if check.required and check.outcome in REQUESTABLE and check.exemption is None:
                    requestable.append(
                        {
                            "value": f"{track.id}:{check.id}",
                            "track": track,
                            "level": lvl.id,
                            "check": check,
                            "pending": (track.id, check.id) in asked or (None, check.id) in asked,
                        }
                    )
    tracks.sort(key=lambda t: t["track"].draft)  # drafts after the published tracks
    max_days = service.workspace.exemption_max_days
    return {
        "campaigns": _entity_campaigns(service, record.ref, now),
        "entity": record,
        "card": card,
        "fixes": _fix_places(t["card"] for t in tracks),
        "tracks": tracks,
        "owner_link": _owner_path(record.owner),
        "api_link": f"/api/v1/entities/{kind}/{namespace}/{name}",
        "can_run": is_writer(request, service),
        "can_request": is_writer(request, service),
        "can_approve": is_admin(request, service),
        "pending": [convert.exemption(p, now) for p in pending.items],
        "pending_total": pending.total,
        "requestable": requestable,
        "requestable_values": {r["value"] for r in requestable},
        "max_days": max_days,
        "default_days": min(DEFAULT_DAYS, max_days),
        "min_chars": MIN_JUSTIFICATION_CHARS,
        "min_words": MIN_JUSTIFICATION_WORDS,
        "track_titles": {t.id: t.title for t in config.tracks},
        "exemptions_link": f"/exemptions?entity={quote(record.ref, safe='')}",
    }


@dataclass(frozen=True, slots=True)
class FixPlace:
    """Where the entity page shows a check's fix: in full (`here`, with the element id
    `anchor`), or as a link to `anchor`, the place above that shows the same text."""

    anchor: str
    here: bool


# Outcomes whose fix a page shows: a failure's, and an optional check's that warns.
FIXABLE = frozenset({Outcome.FAIL, Outcome.WARN})


def _fix_places(cards: Iterable[TrackScorecard]) -> dict[tuple[str, str, str], FixPlace]:
    """Each fix once on the entity page. A failing check of the next level is listed
    under "To reach ..." and again in its level's table, and one check (one text) can be
    on several tracks: the first place in page order shows the text, every later one
    links to it. Keyed by (track, check, "next" for the list or "row" for the table)."""
    first: dict[tuple[str, str | None], str] = {}
    places: dict[tuple[str, str, str], FixPlace] = {}
    for card in cards:
        needing = [("next", c) for c in card.blocking if c.outcome == Outcome.FAIL]
        needing += [
            ("row", c) for level in card.levels for c in level.checks if c.outcome in FIXABLE
        ]
        for where, check in needing:
            if not check.remediation:
                continue
            text = (check.remediation, check.docs_url)
            shown = first.get(text)
            if shown is None:
                shown = first[text] = f"fix-{card.track}-{check.id}"
                places[card.track, check.id, where] = FixPlace(shown, here=True)
            else:
                places[card.track, check.id, where] = FixPlace(shown, here=False)
    return places


def _entity_campaigns(service: ServiceDep, entity_ref: str, now: datetime) -> list[dict[str, Any]]:
    """The campaigns an entity is in scope of, each with whether it is at the goal."""
    config = service.config.current
    if not config.campaigns:
        return []
    tracks = config.tracks_by_id
    measured = service.store.measure_campaigns(
        config.campaigns, tracks, now, entity_refs=[entity_ref]
    )
    found = []
    for campaign in config.campaigns:
        progress = measured.get(campaign.id)
        if progress is None or not progress.standings:
            continue
        found.append(
            {
                "campaign": campaign,
                "goal": goal_words(campaign, tracks.get(campaign.track_id)),
                "at_goal": progress.standings[0].at_goal,
            }
        )
    return found


def _requested(service: ServiceDep, entity_ref: str, note: str | None) -> ExemptionOut | None:
    """The exemption `?exemption=ID` names, if it is one of this entity's: what the page
    says after a request (looked up, so that the address cannot put words on the page)."""
    if not note or not note.isdigit() or len(note) > 10:
        return None
    record = service.store.exemption(int(note))
    if record is None or record.entity_ref != entity_ref:
        return None
    return convert.exemption(record, datetime.now(UTC))


@router.post("/catalog/{kind}/{namespace}/{name}/run")
async def rerun_entity(
    request: Request, service: ServiceDep, kind: str, namespace: str, name: str
) -> Response:
    """The page's "re-run now" button: every track, for this entity only."""
    page = f"/catalog/{kind}/{namespace}/{name}"
    if not is_writer(request, service) or not same_origin(request):
        return RedirectResponse(f"/signin?next={page}", status_code=303)
    record = _entity_or_404(service, kind, namespace, name)
    try:
        visitor = signed_in(request, service)
        started = service.runs.trigger(
            None, entity=record.ref, trigger="page", actor=visitor.name if visitor else None
        )
        note = f"{started.run_id}"
    except RunConflict as conflict:
        note = f"busy-{conflict.run_id}"
    return RedirectResponse(f"{page}?run={note}", status_code=303)


@router.post("/catalog/{kind}/{namespace}/{name}/exemptions", response_class=HTMLResponse)
async def request_exemption(
    request: Request, service: ServiceDep, kind: str, namespace: str, name: str
) -> Response:
    """The page's "request an exemption" form (a runner or admin; an admin may approve
    it at once). Back to the page with `?exemption=ID`, or the page again with the form
    as it was sent and why nothing was recorded."""
    page = request.url.path.removesuffix("/exemptions")
    visitor = await run_in_threadpool(signed_in, request, service)
    if visitor is None or not same_origin(request):
        return RedirectResponse(f"/signin?next={quote(page)}", status_code=303)
    if not visitor.may(Role.RUNNER):
        return _forbidden(request, visitor, "request exemptions", "a runner or admin token")
    form = await read_form(request)
    record = await run_in_threadpool(_entity_or_404, service, kind, namespace, name)
    sent = {
        "target": form.get("target", ""),
        "justification": form.get("justification", ""),
        "days": form.get("days", "").strip(),
        "every_track": bool(form.get("every_track")),
        "approve": bool(form.get("approve")),
    }
    try:
        track_id, check_id, days = _request_fields(sent, service.workspace.exemption_max_days)
        made, _ = await run_in_threadpool(
            partial(
                service.exemptions.request,
                visitor,
                entity_ref=record.ref,
                track_id=None if sent["every_track"] else track_id,
                check_id=check_id,
                justification=sent["justification"],
                expires_at=datetime.now(UTC) + timedelta(days=days),
                approve=sent["approve"],
            )
        )
    except ExemptionError as error:
        view = await run_in_threadpool(_entity_view, request, service, kind, namespace, name)
        return render(
            request,
            "entity.html",
            **view,
            page_path=page,
            queued=None,
            requested=None,
            form=sent,
            exemption_error=str(error),
            status_code=error.code,
        )
    return RedirectResponse(
        f"{entity_path(record.ref)}?exemption={made.id}#exemptions", status_code=303
    )


def _request_fields(sent: dict[str, Any], max_days: int) -> tuple[str, str, int]:
    """The track, check and days of a request form; `ExemptionError` (422) when one of
    them cannot be read. The desk judges the rest, as it does for the API."""
    track_id, colon, check_id = str(sent["target"]).partition(":")
    if not (colon and track_id and check_id) or len(sent["target"]) > 200:
        raise ExemptionError(422, "choose the check to exempt")
    justification: str = sent["justification"]
    if len(justification) > MAX_JUSTIFICATION or "\x00" in justification:
        raise ExemptionError(
            422, f"the justification must be at most {MAX_JUSTIFICATION} characters of text"
        )
    days: str = sent["days"]
    if not (days.isdigit() and len(days) <= 6 and 1 <= int(days) <= max_days):
        raise ExemptionError(
            422,
            f"the days must be a whole number from 1 to {max_days} (exemptions.max_days)",
        )
    return track_id, check_id, int(days)


def _forbidden(request: Request, visitor: Principal, action: str, who: str) -> Response:
    return render(
        request,
        "not_found.html",
        heading="Forbidden",
        what=f"You are signed in as {visitor.name} ({visitor.role}), which may not {action}: "
        f"{who} may. Nothing was changed.",
        hint="Sign out and sign in again with another token to do this.",
        status_code=403,
    )


# --- owner ------------------------------------------------------------------------------


@router.get("/owners/{ref:path}", response_class=HTMLResponse)
def owner_page(
    request: Request,
    service: ServiceDep,
    ref: str,
    page: PageNumber = 1,
    days: trend_views.TrendDays = trend_views.DEFAULT_DAYS,
) -> Response:
    require_reader(request, service)
    try:
        owner = str(parse_ref(ref, default_kind="group"))
    except ValueError:
        raise PageNotFound(
            f"“{ref}” is not an owner reference.", "Try group:default/name."
        ) from None
    found = service.store.find_entities(
        kind=None,
        owner=owner,
        track=None,
        level=None,
        outcome=None,
        query=None,
        limit=PER_PAGE,
        offset=_offset(page),
    )
    if found.total == 0:
        raise PageNotFound(f"No evaluated entity is owned by {owner}.")
    config = service.config.current
    # The published tracks first; drafts after them, apart from every summary.
    tracks = {t.id: t for t in sorted(config.tracks, key=lambda t: t.draft)}
    published = {key: t for key, t in tracks.items() if not t.draft}
    drafts = {key: t for key, t in tracks.items() if t.draft}
    certifications = service.store.certifications_for([e.ref for e in found.items])
    rollups = [
        {"track": tracks[r.track_id], "bar": _level_bar(tracks[r.track_id], r.levels)}
        for r in service.store.owner_rollup(owner)
        if r.track_id in tracks
    ]
    blockers = service.store.owner_blockers(owner)
    return render(
        request,
        "owner.html",
        campaigns=_owner_campaigns(service, owner),
        owner=owner,
        owner_title=_owner_title(service, owner, found.items[0].owner or owner),
        rows=[
            {"entity": e, "levels": {c.track_id: c.level for c in certifications.get(e.ref, [])}}
            for e in found.items
        ],
        pager=Pager(page, found.total, request),
        tracks=tracks,
        rollups=[r for r in rollups if not r["track"].draft],
        draft_rollups=[r for r in rollups if r["track"].draft],
        **_moves(blockers, published),
        draft_moves=_moves(blockers, drafts)["moves"] if drafts else [],
        # The owner's own trends, and where it stands on the leaderboard.
        **trend_views.owner_trends(
            _memo(request), service, owner, config.tracks, days, datetime.now(UTC).date()
        ),
    )


def _owner_title(service: ServiceDep, owner: str, spelling: str) -> str:
    """What the catalog calls an owner (`catalog_name` of its own entity, a Group or a
    User), else the ref as its entities spell it."""
    record = service.store.entity(owner)
    called = catalog_name(record.title, record.raw) if record is not None else None
    return called or spelling


def _owner_campaigns(service: ServiceDep, owner: str) -> list[dict[str, Any]]:
    """The campaigns in which an owner has entities in scope, with its own share at the
    goal (as last recorded), soonest deadline first."""
    config = service.config.current
    if not config.campaigns:
        return []
    tracks = config.tracks_by_id
    rows = service.store.owner_campaigns(owner, [c.id for c in config.campaigns])
    found = [
        {
            "campaign": campaign,
            "goal": goal_words(campaign, tracks.get(campaign.track_id)),
            "in_scope": rows[campaign.id].in_scope,
            "at_goal": rows[campaign.id].at_goal,
            "share": share(rows[campaign.id].at_goal, rows[campaign.id].in_scope),
        }
        for campaign in config.campaigns
        if campaign.id in rows
    ]
    found.sort(key=lambda row: (row["campaign"].deadline, row["campaign"].id))
    return found


def _moves(blockers: list[Blocker], tracks: dict[str, Track]) -> dict[str, list[dict[str, Any]]]:
    """The fixes that would move the most of an owner's entities up a level (`moves`), and
    the checks that could not be checked for some of them (`unchecked`).

    A check that is the *only* thing between an entity and its next level moves that
    entity up when fixed; one of several blockers moves it nowhere on its own. So checks
    rank by the entities they alone hold back, then by all those they hold back. Only a
    failure has a fix: a check that could not be checked is listed apart, with the reason
    its results give, since what its fix would add may be there already.
    """
    per_pair: dict[tuple[str, str], int] = defaultdict(int)
    for blocker in blockers:
        per_pair[blocker.entity_ref, blocker.track_id] += 1
    alone: dict[tuple[str, str], int] = defaultdict(int)
    among: dict[tuple[str, str], int] = defaultdict(int)
    reasons: dict[tuple[str, str], list[Blocker]] = defaultdict(list)
    level_of: dict[tuple[str, str], str] = {}
    for blocker in blockers:
        key = (blocker.track_id, blocker.check_id)
        level_of[key] = blocker.next_level
        if blocker.outcome in present.COULD_NOT_CHECK:
            reasons[key].append(blocker)
            continue
        among[key] += 1
        if per_pair[blocker.entity_ref, blocker.track_id] == 1:
            alone[key] += 1

    def row(key: tuple[str, str], **counts: Any) -> dict[str, Any] | None:
        track = tracks.get(key[0])
        if track is None:
            return None  # a track removed from the configuration
        configured = next((c for c in track.checks if c.id == key[1]), None)
        return {
            "track": track,
            "check_id": key[1],
            "title": configured.title if configured else key[1],
            "remediation": configured.remediation if configured else None,
            "level": level_of[key],
            **counts,
        }

    moves = [m for k, n in among.items() if (m := row(k, alone=alone[k], among=n))]
    moves.sort(key=lambda m: (-m["alone"], -m["among"], m["track"].id, m["check_id"]))
    unchecked = [u for k, found in reasons.items() if (u := row(k, results=found))]
    unchecked.sort(key=lambda u: (-len(u["results"]), u["track"].id, u["check_id"]))
    return {"moves": moves[:10], "unchecked": unchecked[:10]}


# --- runs -------------------------------------------------------------------------------


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, service: ServiceDep, page: PageNumber = 1) -> Response:
    require_reader(request, service)
    found = service.store.find_runs(limit=PER_PAGE, offset=_offset(page))
    shards = service.store.shards.progress_of_runs(r.id for r in found.items if r.id is not None)
    return render(
        request,
        "runs.html",
        runs=found.items,
        shards=shards,
        pager=Pager(page, found.total, request),
    )


# --- campaigns --------------------------------------------------------------------------


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, service: ServiceDep) -> Response:
    require_reader(request, service)
    config = service.config.current
    tracks = config.tracks_by_id
    rows = [
        {
            "campaign": found,
            "goal": goal_words(campaign, tracks.get(campaign.track_id)),
        }
        for found, campaign in zip(
            list_campaigns(service, config.campaigns), config.campaigns, strict=True
        )
    ]
    return render(request, "campaigns.html", rows=rows)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, service: ServiceDep, campaign_id: str, page: PageNumber = 1
) -> Response:
    require_reader(request, service)
    config = service.config.current
    campaign = config.campaign(campaign_id)
    track = config.track(campaign.track_id) if campaign is not None else None
    if campaign is None or track is None:
        known = ", ".join(c.id for c in config.campaigns) or "none"
        raise PageNotFound(f"There is no campaign “{campaign_id}”.", f"The campaigns are: {known}.")
    now = datetime.now(UTC)
    detail = campaign_detail(
        service, campaign, track, limit=PER_PAGE, offset=_offset(page), now=now
    )
    series = service.store.campaign_series(campaign.id)
    points = [present.BurnupPoint(row.at, row.in_scope, row.at_goal) for row in series]
    return render(
        request,
        "campaign.html",
        campaign=campaign,
        detail=detail,
        track=track,
        goal=goal_words(campaign, track),
        chart=present.burnup_chart(
            campaign.title,
            campaign.start,
            campaign.deadline,
            campaign.milestones,
            points[-500:],
            now,
        ),
        points=len(points),
        expected=campaign.expected_share(now.date()),
        pace=campaign.straight_line_share(now.date()),
        pager=Pager(page, detail.not_at_goal_total, request),
        # The fix of each entity of this page; the buttons act on every entity behind.
        fixes=page_fixes(service, campaign, track, [e.ref for e in detail.not_at_goal]),
        can_open_fixes=is_admin(request, service),
        fix_branch=service.workspace.fixes.branch,
    )


# --- exemptions -------------------------------------------------------------------------

# The sections of the exemptions page, and the statuses each lists.
_SECTIONS: list[tuple[str, str, str, tuple[ExemptionStatus, ...]]] = [
    (
        "pending",
        "Pending",
        "Requested, waiting for an admin's decision.",
        (ExemptionStatus.PENDING,),
    ),
    (
        "active",
        "Active",
        "Approved and not expired: levels count these checks as passing.",
        (ExemptionStatus.APPROVED,),
    ),
    (
        "past",
        "Expired, denied and revoked",
        "These count for nothing any more.",
        (ExemptionStatus.EXPIRED, ExemptionStatus.DENIED, ExemptionStatus.REVOKED),
    ),
]
StatusView = Literal["", "pending", "active", "past", "expired", "denied", "revoked"]
STATUS_MENU = [
    ("pending", "pending"),
    ("active", "active"),
    ("past", "expired, denied or revoked"),
    ("expired", "expired"),
    ("denied", "denied"),
    ("revoked", "revoked"),
]
DECISIONS = {"approve": "approved", "deny": "denied", "revoke": "revoked"}
ExemptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/exemptions", response_class=HTMLResponse)
def exemptions_page(
    request: Request,
    service: ServiceDep,
    owner: MenuValue = None,
    track: MenuValue = None,
    check: MenuValue = None,
    entity: MenuValue = None,
    status: StatusView = "",
    page: PageNumber = 1,
    decided: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Every exemption: pending, active, and the rest, filtered by owner, track, check,
    status (and entity, from an entity's page); an admin decides from here."""
    require_reader(request, service)
    config = service.config.current
    entity_ref = None
    if entity:
        try:
            entity_ref = str(parse_ref(entity, default_kind="component"))
        except ValueError:
            raise PageNotFound(
                f"“{entity}” is not an entity reference.", "Try component:default/name."
            ) from None
    filters = {
        "owner": owner or None,
        "track_id": track or None,
        "check_id": check or None,
        "entity_ref": entity_ref,
    }
    now = datetime.now(UTC)
    sections = []
    for key, title, about, statuses in _SECTIONS:
        if status and status != key and status not in statuses:
            continue
        shown = tuple(s for s in statuses if not status or status in (key, s))
        number = page if status else 1
        found = service.store.exemptions(
            status=list(shown), limit=PER_PAGE, offset=_offset(number), **filters
        )
        sections.append(
            {
                "key": key,
                "title": title,
                "about": about,
                "rows": [convert.exemption(record, now) for record in found.items],
                "pager": Pager(number, found.total, request, () if status else (("status", key),)),
            }
        )
    titles: dict[tuple[str | None, str], str] = {}
    for t in config.tracks:
        for c in t.checks:
            titles[t.id, c.id] = c.title
            titles.setdefault((None, c.id), c.title)
    memo = _memo(request)
    owners = sorted(
        {
            o
            for t in config.tracks
            for o in memo.get(
                service, ("menus", t.id), lambda t=t: service.store.track_menus(t.id)
            )["owner"]
        },
        key=str.lower,
    )
    return render(
        request,
        "exemptions.html",
        sections=sections,
        where={"owner": owner or "", "track": track or "", "check": check or "", "status": status},
        entity=entity_ref,
        tracks={t.id: t for t in config.tracks},
        checks=sorted({c.id for t in config.tracks for c in t.checks}),
        owners=owners,
        status_menu=STATUS_MENU,
        titles=titles,
        can_decide=is_admin(request, service),
        here=_here(request),
        decided=_decided(service, decided),
        filtered=any(filters.values()) or bool(status),
    )


def _here(request: Request) -> str:
    """This page's path and query, for a form to come back to."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def _decided(service: ServiceDep, exemption_id: int | None) -> ExemptionOut | None:
    if exemption_id is None:
        return None
    record: ExemptionRecord | None = service.store.exemption(exemption_id)
    return None if record is None else convert.exemption(record, datetime.now(UTC))


@router.post("/exemptions/{exemption_id}/{decision}", response_class=HTMLResponse)
async def decide_exemption(
    request: Request, service: ServiceDep, exemption_id: ExemptionId, decision: str
) -> Response:
    """An admin's approve, deny or revoke button; back to the list it was pressed on."""
    if decision not in DECISIONS:
        raise PageNotFound(f"There is no page at {request.url.path}.")
    form = await read_form(request)
    back = safe_next(form.get("next") or "/exemptions")
    visitor = await run_in_threadpool(signed_in, request, service)
    if visitor is None or not same_origin(request):
        return RedirectResponse(f"/signin?next={quote(back, safe='/')}", status_code=303)
    if not visitor.may(Role.ADMIN):
        return _forbidden(request, visitor, f"{decision} exemptions", "an admin token")
    note = form.get("note", "").strip() or None
    try:
        if note is not None and (len(note) > MAX_NOTE or "\x00" in note):
            raise ExemptionError(422, f"the note must be at most {MAX_NOTE} characters of text")
        record, _ = await run_in_threadpool(
            service.exemptions.decide, visitor, exemption_id, decision, note
        )
    except ExemptionError as error:
        return render(
            request,
            "not_found.html",
            heading=f"Exemption #{exemption_id} was not {DECISIONS[decision]}",
            what=f"{str(error)[:1].upper()}{str(error)[1:]}.",
            hint="Nothing was changed.",
            back=back,
            status_code=error.code,
        )
    return RedirectResponse(_with_query(back, decided=str(record.id)), status_code=303)


def _with_query(path: str, **params: str) -> str:
    """`path` (on this site) with these query parameters set."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


# --- signing in -------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, service: ServiceDep, next: str | None = None) -> Response:
    return render(
        request,
        "signin.html",
        next=safe_next(next),
        writes_enabled=bool(service.tokens),
        failed=False,
    )


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, service: ServiceDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    token = form.get("token", "").strip()
    if not (same_origin(request) and token_principal(service, token) is not None):
        return render(
            request,
            "signin.html",
            next=target,
            writes_enabled=bool(service.tokens),
            failed=True,
            status_code=403,
        )
    response = RedirectResponse(target, status_code=303)
    # Off the event loop: on SQLite the write may wait for a run's transaction.
    await run_in_threadpool(start_session, request, service, response, token)
    return response


@router.post("/signout", response_class=HTMLResponse)
async def signout(request: Request, service: ServiceDep) -> Response:
    if not same_origin(request):
        # Another site may not sign a visitor out: the session stays as it was.
        return render(
            request,
            "not_found.html",
            heading="Forbidden",
            what="Signing out works from this server's own pages only; nothing was changed.",
            hint="",
            status_code=403,
        )
    response = RedirectResponse("/", status_code=303)
    await run_in_threadpool(end_session, request, service, response)
    return response
