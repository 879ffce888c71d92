"""Campaign progress: measured from the stored certifications, kept as it changes.

`record` measures every campaign and appends a `campaign_progress` row for the campaign
(`by_owner` false) and for each owner (`by_owner` true) whose counts differ from its latest
row, so that the burn-up is these rows, read back as they are. No row stands for nothing in
scope: a campaign's (or an owner's) first row is written once something is.

Every function works in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from scorecard.entity import Entity, InvalidEntity
from scorecard.notify.events import emit
from scorecard.program.campaigns import Campaign
from scorecard.program.progress import (
    MET_CODES,
    OwnerProgress,
    Progress,
    Standing,
    StoredPair,
    campaign_events,
    owner_key,
    standing,
    today_of,
)
from scorecard.report import OUTCOME_BY_CODE, Layout, shown_message
from scorecard.results import Outcome
from scorecard.store.exemptions import waivers
from scorecard.store.tables import (
    CampaignProgressRecord,
    CertificationRecord,
    EntityRecord,
    PairResultsRecord,
)
from scorecard.store.writes import _rows_in, _stored_layouts
from scorecard.tracks import Track

_progress = CampaignProgressRecord.__table__
_entity = EntityRecord.__table__
_certification = CertificationRecord.__table__
_pair_result = PairResultsRecord.__table__

# (campaign id, by owner, owner's key): the latest row of a campaign or of one owner.
RowKey = tuple[str, bool, str | None]


@dataclass(frozen=True, slots=True)
class Recorded:
    """The latest row of a campaign or an owner."""

    owner: str | None
    in_scope: int
    at_goal: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Blocker:
    """A goal check that an entity does not meet: its outcome (None: no result for it yet)
    and the result's message."""

    check_id: str
    outcome: Outcome | None
    message: str | None


# --- measuring -------------------------------------------------------------------------------


def _listed(session: Session, refs: Iterable[str] | None = None) -> list[tuple[Entity, str | None]]:
    """The listed (not gone) entities, each with its stored owner: all, or these."""
    e = _entity.c
    query = select(e.ref, e.owner, e.raw).where(e.gone_run.is_(None))
    rows = session.execute(query) if refs is None else _rows_in(session, query, e.ref, refs)
    found = []
    for _ref, owner, raw in rows:
        try:
            found.append((Entity(raw), owner))
        except InvalidEntity:  # stored before a rule tightened: counts nowhere
            continue
    return found


def _pairs(
    session: Session, track_id: str, refs: Iterable[str] | None = None
) -> dict[str, StoredPair]:
    """The stored certifications on a track (of these entities), by entity ref."""
    c = _certification.c
    query = select(c.entity_ref, c.level, c.outcomes, c.layout_id).where(c.track_id == track_id)
    rows = list(
        session.execute(query) if refs is None else _rows_in(session, query, c.entity_ref, refs)
    )
    layouts = _stored_layouts(session, {row.layout_id for row in rows})
    return {
        row.entity_ref: StoredPair(
            row.level, row.outcomes, layouts.get(row.layout_id) if row.layout_id else None
        )
        for row in rows
    }


def measure(
    session: Session,
    campaigns: Sequence[Campaign],
    tracks: Mapping[str, Track],
    now: datetime,
    *,
    refs: Iterable[str] | None = None,
) -> dict[str, Progress]:
    """Each campaign's standings now (over these entities when given), by campaign id; a
    campaign whose track is not loaded is left out."""
    wanted = [c for c in campaigns if c.track_id in tracks]
    if not wanted:
        return {}
    refs = None if refs is None else sorted(set(refs))
    entities = _listed(session, refs)
    in_effect = waivers(session, now, refs)
    pairs = {track_id: _pairs(session, track_id, refs) for track_id in {c.track_id for c in wanted}}
    measured = {}
    for campaign in wanted:
        track = tracks[campaign.track_id]
        stored = pairs[track.id]
        found: list[Standing] = []
        for entity, owner in entities:
            waived = in_effect.for_pair(entity.ref, track.id) if in_effect else {}
            s = standing(campaign, track, entity, owner, stored.get(entity.ref), waived)
            if s is not None:
                found.append(s)
        found.sort(key=lambda s: s.entity_ref)
        measured[campaign.id] = Progress(campaign.id, tuple(found))
    return measured


# --- the rows --------------------------------------------------------------------------------


def latest(session: Session, campaign_ids: Iterable[str]) -> dict[RowKey, Recorded]:
    """The latest row of each campaign and of each of its owners."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    p = _progress.c
    newest = (
        select(func.max(p.id))
        .where(p.campaign_id.in_(ids))
        .group_by(p.campaign_id, p.by_owner, func.lower(p.owner))
    )
    rows = session.execute(
        select(p.campaign_id, p.by_owner, p.owner, p.in_scope, p.at_goal, p.at).where(
            p.id.in_(newest)
        )
    )
    return {
        (row.campaign_id, bool(row.by_owner), owner_key(row.owner) if row.by_owner else None): (
            Recorded(row.owner, row.in_scope, row.at_goal, row.at)
        )
        for row in rows
    }


def done_since(session: Session, campaign_ids: Iterable[str]) -> dict[str, datetime]:
    """When each campaign was last recorded done (every entity in scope at the goal)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    p = _progress.c
    rows = session.execute(
        select(p.campaign_id, func.max(p.at))
        .where(
            p.campaign_id.in_(ids),
            p.by_owner.is_(False),
            p.in_scope > 0,
            p.at_goal >= p.in_scope,
        )
        .group_by(p.campaign_id)
    )
    return {campaign_id: at for campaign_id, at in rows}


def ever_done(campaign: Campaign, done_at: datetime | None) -> bool:
    """Whether the campaign was done at some time since its start."""
    return done_at is not None and today_of(done_at) >= campaign.start


def series(
    session: Session, campaign_id: str, owner: str | None = None
) -> list[CampaignProgressRecord]:
    """The campaign's rows (or one owner's, compared without regard to case), oldest
    first: its burn-up."""
    p = CampaignProgressRecord
    query = select(p).where(p.campaign_id == campaign_id)
    if owner is None:
        query = query.where(p.by_owner.is_(False))  # type: ignore[attr-defined]
    else:
        query = query.where(p.by_owner.is_(True), func.lower(p.owner) == owner.lower())  # type: ignore[attr-defined]
    return list(session.scalars(query.order_by(p.at, p.id)))  # type: ignore[arg-type]


def record(
    session: Session,
    campaigns: Sequence[Campaign],
    tracks: Mapping[str, Track],
    now: datetime,
) -> dict[str, Progress]:
    """Measure every campaign and append a row for it and for each of its owners whose
    counts changed since its latest row (no row: nothing in scope); what was measured."""
    measured = measure(session, campaigns, tracks, now)
    before = latest(session, measured)
    rows: list[dict[str, Any]] = []

    def row(campaign_id: str, by_owner: bool, owner: str | None, counts: tuple[int, int]) -> None:
        rows.append(
            {
                "campaign_id": campaign_id,
                "at": now,
                "by_owner": by_owner,
                "owner": owner,
                "in_scope": counts[0],
                "at_goal": counts[1],
            }
        )

    for campaign_id, progress in measured.items():
        counts = (progress.in_scope, progress.at_goal)
        if counts != _counts(before.get((campaign_id, False, None))):
            row(campaign_id, False, None, counts)
        seen = set()
        for owner in progress.owners:
            key = (campaign_id, True, owner_key(owner.owner))
            seen.add(key)
            if (owner.in_scope, owner.at_goal) != _counts(before.get(key)):
                row(campaign_id, True, owner.owner, (owner.in_scope, owner.at_goal))
        for key, kept in before.items():
            # An owner with nothing in scope any more.
            if key[0] == campaign_id and key[1] and key not in seen and _counts(kept) != (0, 0):
                row(campaign_id, True, kept.owner, (0, 0))
    if rows:
        session.execute(insert(_progress), rows)
    return measured


def _counts(recorded: Recorded | None) -> tuple[int, int]:
    return (0, 0) if recorded is None else (recorded.in_scope, recorded.at_goal)


# --- events ----------------------------------------------------------------------------------


def emit_events(
    session: Session,
    campaigns: Sequence[Campaign],
    tracks: Mapping[str, Track],
    now: datetime,
    *,
    deadline_within_days: int,
) -> int:
    """Write the events the campaigns' recorded progress calls for at `now`
    (`scorecard.program.progress.campaign_events`); each is kept once, by its key. A
    campaign with no row yet (nothing has been in scope) has none. How many were given."""
    ids = [c.id for c in campaigns]
    kept = latest(session, ids)
    done = done_since(session, ids)
    today = today_of(now)
    events = []
    for campaign in campaigns:
        overall = kept.get((campaign.id, False, None))
        if overall is None:
            # Nothing has been in scope since it was loaded (a store before its first
            # run): nothing is known to tell.
            continue
        in_scope, at_goal = _counts(overall)
        owners = [
            OwnerProgress(r.owner, r.in_scope, r.at_goal)
            for (cid, by_owner, _), r in kept.items()
            if cid == campaign.id and by_owner and r.in_scope > 0
        ]
        history: list[CampaignProgressRecord] | None = None

        def share_on(day: date, campaign: Campaign = campaign) -> float | None:
            nonlocal history
            if history is None:
                history = series(session, campaign.id)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            then = [r for r in history if r.at < end]
            if not then:
                return None
            last = then[-1]
            return last.at_goal / last.in_scope if last.in_scope else 0.0

        if today < campaign.start:
            continue
        events.extend(
            campaign_events(
                campaign,
                tracks.get(campaign.track_id),
                now,
                in_scope,
                at_goal,
                owners,
                ever_done=ever_done(campaign, done.get(campaign.id)),
                share_on=share_on,
                deadline_within_days=deadline_within_days,
            )
        )
    return emit(session, events)


# --- reading ---------------------------------------------------------------------------------


def blockers(
    session: Session, campaign: Campaign, track: Track, refs: Iterable[str], now: datetime
) -> dict[str, list[Blocker]]:
    """For each of these entities, the goal checks it does not meet, in the track's order:
    the checks of a checks goal, or the required checks of the goal level and the levels
    below it; an exempted check is met. Each with its outcome and message."""
    refs = sorted(set(refs))
    if not refs:
        return {}
    pairs = _pairs(session, track.id, refs)
    in_effect = waivers(session, now, refs)
    r = _pair_result.c
    packed = {
        row.entity_ref: row.results
        for row in _rows_in(
            session,
            select(r.entity_ref, r.results).where(r.track_id == track.id),
            r.entity_ref,
            refs,
        )
    }
    found: dict[str, list[Blocker]] = {}
    for ref in refs:
        pair = pairs.get(ref)
        layout: Layout = pair.layout if pair and pair.layout else track.layout
        wanted = _goal_checks(campaign, track, layout)
        waived = in_effect.for_pair(ref, track.id)
        positions = {head[0]: index for index, head in enumerate(layout)}
        codes = (pair.codes or "") if pair else ""
        items = _items(packed.get(ref))
        found[ref] = []
        for check_id in wanted:
            if check_id in waived:
                continue
            position = positions.get(check_id)
            if pair is None or position is None or position >= len(codes):
                found[ref].append(Blocker(check_id, None, None))
                continue
            if codes[position] in MET_CODES:
                continue
            message = None
            if position < len(items):
                item = items[position]
                kept = item[0] if isinstance(item, list) else item
                message = shown_message(ref, kept) if isinstance(kept, str) else None
            found[ref].append(Blocker(check_id, OUTCOME_BY_CODE.get(codes[position]), message))
    return found


def _goal_checks(campaign: Campaign, track: Track, layout: Layout) -> list[str]:
    if campaign.level is None:
        return list(campaign.checks)
    order = [level.id for level in track.levels]
    if campaign.level not in order:
        return []
    upto = set(order[: order.index(campaign.level) + 1])
    return [check_id for check_id, level_id, required in layout if required and level_id in upto]


def _items(packed: Any) -> list[Any]:
    if packed is None:
        return []
    if isinstance(packed, str | bytes):
        packed = orjson.loads(packed)
    return packed if isinstance(packed, list) else []


@dataclass(frozen=True, slots=True)
class Summary:
    """A campaign as its latest row has it, and when it was last recorded done."""

    in_scope: int
    at_goal: int
    done_at: datetime | None


def summaries(session: Session, campaign_ids: Iterable[str]) -> dict[str, Summary]:
    """Each campaign's latest counts (no row: nothing in scope), by campaign id."""
    ids = sorted(set(campaign_ids))
    kept = latest(session, ids)
    done = done_since(session, ids)
    return {
        campaign_id: Summary(*_counts(kept.get((campaign_id, False, None))), done.get(campaign_id))
        for campaign_id in ids
    }


def owner_rows(session: Session, owner: str, campaign_ids: Iterable[str]) -> dict[str, Recorded]:
    """The latest row of `owner` (any case) in each campaign where it has entities in
    scope, by campaign id."""
    key = owner_key(owner)
    return {
        campaign_id: recorded
        for (campaign_id, by_owner, who), recorded in latest(session, campaign_ids).items()
        if by_owner and who == key and recorded.in_scope > 0
    }
