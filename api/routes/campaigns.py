"""Campaigns: time-boxed goals on a track, how far each has got, and its burn-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.deps import ServiceDep
from api.routes.entities import Limit, Offset, Segment
from api.schemas import (
    COMMON_RESPONSES,
    NO_NUL,
    NOT_FOUND,
    CampaignBlockerOut,
    CampaignDetailOut,
    CampaignEntityOut,
    CampaignGoalOut,
    CampaignOut,
    CampaignOwnerOut,
    CampaignPointOut,
    MilestoneOut,
)
from scorecard.program.campaigns import Campaign
from scorecard.program.progress import Progress, Status, share, status, today_of
from scorecard.service.service import Service
from scorecard.store.campaigns import Summary, ever_done
from scorecard.tracks import Track

router = APIRouter(tags=["campaigns"], responses=COMMON_RESPONSES)

OwnerFilter = Annotated[
    str | None,
    Query(max_length=300, pattern=NO_NUL, description="An owner's ref (any case): its series."),
]


def campaign_or_404(service: Service, campaign_id: str) -> tuple[Campaign, Track]:
    config = service.config.current
    campaign = config.campaign(campaign_id)
    track = config.track(campaign.track_id) if campaign is not None else None
    if campaign is None or track is None:
        raise HTTPException(404, f"no campaign {campaign_id!r}")
    return campaign, track


def campaign_status(
    campaign: Campaign, today: date, in_scope: int, at_goal: int, summary: Summary | None
) -> Status:
    done = summary is not None and ever_done(campaign, summary.done_at)
    return status(campaign, today, in_scope, at_goal, ever_done=done)


def campaign_out(
    campaign: Campaign, in_scope: int, at_goal: int, state: Status
) -> dict[str, object]:
    """The fields every campaign answer has."""
    return {
        "id": campaign.id,
        "title": campaign.title,
        "description": campaign.description,
        "owner": campaign.owner,
        "docs": campaign.docs,
        "goal": CampaignGoalOut(
            track=campaign.track_id,
            level=campaign.level,
            checks=list(campaign.checks) if campaign.level is None else None,
        ),
        "start": campaign.start,
        "deadline": campaign.deadline,
        "milestones": [MilestoneOut(date=day, share=s) for day, s in campaign.milestones],
        "in_scope": in_scope,
        "at_goal": at_goal,
        "share": share(at_goal, in_scope),
        "status": state.value,
        "source": campaign.source,
    }


def list_campaigns(
    service: Service, campaigns: Sequence[Campaign] | None = None, now: datetime | None = None
) -> list[CampaignOut]:
    """Every loaded campaign (or these) as its latest recorded progress has it."""
    if campaigns is None:
        campaigns = service.config.current.campaigns
    summaries = service.store.campaign_summaries(c.id for c in campaigns)
    today = today_of(now or datetime.now(UTC))
    found = []
    for campaign in campaigns:
        summary = summaries.get(campaign.id)
        in_scope, at_goal = (summary.in_scope, summary.at_goal) if summary else (0, 0)
        state = campaign_status(campaign, today, in_scope, at_goal, summary)
        found.append(CampaignOut(**campaign_out(campaign, in_scope, at_goal, state)))  # type: ignore[arg-type]
    return found


def campaign_detail(
    service: Service,
    campaign: Campaign,
    track: Track,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> CampaignDetailOut:
    """A campaign measured now: its counts, its owners furthest behind first, and a page
    of the entities not at the goal with what holds each back."""
    now = now or datetime.now(UTC)
    progress = service.store.measure_campaigns([campaign], {track.id: track}, now).get(
        campaign.id, Progress(campaign.id, ())
    )
    summary = service.store.campaign_summaries([campaign.id]).get(campaign.id)
    state = campaign_status(campaign, today_of(now), progress.in_scope, progress.at_goal, summary)
    behind = [s for s in progress.standings if not s.at_goal]
    shown = behind[offset : offset + limit]
    blockers = service.store.campaign_blockers(campaign, track, [s.entity_ref for s in shown], now)
    titles = {c.id: c.title for c in track.checks}
    return CampaignDetailOut(
        **campaign_out(campaign, progress.in_scope, progress.at_goal, state),  # type: ignore[arg-type]
        owners=[
            CampaignOwnerOut(owner=o.owner, in_scope=o.in_scope, at_goal=o.at_goal, share=o.share)
            for o in progress.owners
        ],
        not_at_goal=[
            CampaignEntityOut(
                ref=s.entity_ref,
                title=s.title,
                owner=s.owner,
                level=s.level,
                blocking=[
                    CampaignBlockerOut(
                        check=b.check_id,
                        title=titles.get(b.check_id, b.check_id),
                        outcome=b.outcome,
                        message=b.message,
                    )
                    for b in blockers.get(s.entity_ref, [])
                ],
            )
            for s in shown
        ],
        not_at_goal_total=len(behind),
    )


@router.get("/campaigns", response_model=list[CampaignOut])
def campaigns(service: ServiceDep) -> list[CampaignOut]:
    """Every campaign with its goal, dates, how many entities are in scope and at the goal
    (as last recorded) and its status."""
    return list_campaigns(service)


@router.get("/campaigns/{campaign_id}", response_model=CampaignDetailOut, responses=NOT_FOUND)
def campaign(
    campaign_id: Segment, service: ServiceDep, limit: Limit = 100, offset: Offset = 0
) -> CampaignDetailOut:
    """A campaign measured now, with per owner how far it has got (furthest behind first)
    and the entities not at the goal (`limit` and `offset` page them), each with the goal
    checks that hold it back."""
    found, track = campaign_or_404(service, campaign_id)
    return campaign_detail(service, found, track, limit=limit, offset=offset)


@router.get(
    "/campaigns/{campaign_id}/progress",
    response_model=list[CampaignPointOut],
    responses=NOT_FOUND,
)
def campaign_progress(
    campaign_id: Segment, service: ServiceDep, owner: OwnerFilter = None
) -> list[CampaignPointOut]:
    """The burn-up: the entities in scope and at the goal each time they changed, oldest
    first; over the whole campaign, or one owner's entities."""
    campaign_or_404(service, campaign_id)
    return [
        CampaignPointOut(at=row.at, in_scope=row.in_scope, at_goal=row.at_goal)
        for row in service.store.campaign_series(campaign_id, owner or None)
    ]
