"""What the MCP tools answer: the API's response models where one fits, and the few
shapes only an agent asks for (why a level is not reached, who uses a check, an owner's
campaigns). Each becomes the tool's output schema."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import (
    CampaignOut,
    CheckOut,
    ConfiguredCheckOut,
    EntitySummary,
    TrackScorecard,
    WaiverOut,
)
from scorecard.results import Outcome


class EntityLinks(BaseModel):
    page: str = Field(description="The entity's scorecard page.")
    api: str = Field(description="The same scorecard as JSON from the API.")
    badges: dict[str, str] = Field(description="Track id → the SVG badge of the entity's level.")


class ScorecardAnswer(BaseModel):
    entity: EntitySummary
    description: str | None
    tracks: list[TrackScorecard] = Field(
        description="Each track evaluated on the entity: the level reached, the next one, "
        "the checks blocking it, and every check's result by level."
    )
    links: EntityLinks


class BlockingCheck(BaseModel):
    """A required check that keeps the entity below the level asked about."""

    id: str = Field(description="The check's id on the track.")
    check: str = Field(description="The registered check it configures.")
    title: str
    level: str = Field(description="The level that requires it.")
    outcome: Outcome | None = Field(description="null: not evaluated yet.")
    message: str | None = Field(description="What the check observed.")
    description: str = Field(description="What the check verifies.")
    remediation: str = Field(description="How to make it pass.")
    docs_url: str | None


class ExemptedCheck(BaseModel):
    """A check that counts as passing for the level only because an exemption is in effect."""

    id: str
    title: str
    level: str
    outcome: Outcome | None
    message: str | None
    exemption: WaiverOut


class TrackExplanation(BaseModel):
    track: str
    title: str
    draft: bool = Field(description="A draft track: its level is a preview.")
    level: str | None = Field(description="The level reached now (null: none).")
    target: str = Field(description="The level explained.")
    reached: bool = Field(description="The entity is at the target level or above.")
    summary: str = Field(description="The answer in one sentence.")
    blocking: list[BlockingCheck] = Field(
        description="Every required check up to the target that does not pass and is not "
        "exempted, lowest level first: fix all of them to reach the target."
    )
    exempted: list[ExemptedCheck] = Field(
        description="Checks up to the target that fail but count as passing through an "
        "exemption, until it expires."
    )
    page: str = Field(description="The entity's scorecard page.")


class LevelExplanation(BaseModel):
    entity: str
    tracks: list[TrackExplanation]


class CheckUse(ConfiguredCheckOut):
    """A check as one track configures it: as the API's tracks show it, with its track."""

    track: str
    track_title: str
    level: str
    threshold: str | None = Field(description="When a reported number passes or warns.")
    track_page: str


class CheckAnswer(BaseModel):
    registered: CheckOut | None = Field(
        description="The registered check of that id (null when the id is only a track's "
        "name for a configured check)."
    )
    uses: list[CheckUse] = Field(description="The tracks' configurations of it.")


class OwnerEntity(BaseModel):
    entity: EntitySummary
    page: str


class OwnerTrackLevels(BaseModel):
    track: str
    title: str
    draft: bool
    levels: dict[str, int] = Field(description="Level → the owner's entities at it; `none`.")


class OwnerAnswer(BaseModel):
    owner: str
    total: int = Field(description="Every listed entity of the owner, across pages.")
    limit: int
    offset: int
    entities: list[OwnerEntity] = Field(description="A page of them, by ref.")
    tracks: list[OwnerTrackLevels] = Field(description="The owner's entities per level.")
    page: str = Field(description="The owner's page.")


class EntityMatch(BaseModel):
    entity: EntitySummary
    page: str


class EntitySearch(BaseModel):
    total: int
    limit: int
    offset: int
    entities: list[EntityMatch]


class CampaignBlocker(BaseModel):
    check: str
    title: str
    outcome: Outcome | None = Field(description="null: not evaluated yet.")
    message: str | None
    remediation: str | None


class CampaignEntity(BaseModel):
    ref: str
    title: str | None
    level: str | None = Field(description="The level reached on the campaign's track.")
    blocking: list[CampaignBlocker] = Field(
        description="The goal checks that do not pass and are not exempted."
    )
    page: str


class OwnerCampaign(BaseModel):
    campaign: CampaignOut = Field(description="The campaign and its overall progress.")
    in_scope: int = Field(description="The owner's entities the campaign applies to.")
    at_goal: int
    share: float | None = Field(description="at_goal / in_scope.")
    not_at_goal: list[CampaignEntity] = Field(
        description="The owner's entities not at the goal yet (the first 50, by ref), with "
        "what holds each back."
    )
    not_at_goal_total: int
    page: str = Field(description="The campaign's page, with its burn-up.")


class OwnerCampaigns(BaseModel):
    owner: str
    campaigns: list[OwnerCampaign] = Field(description="Soonest deadline first.")
