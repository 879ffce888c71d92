"""How far a campaign has got: who is in scope, who is at the goal, per owner, its status,
and the events its state calls for. Pure functions: the store reads what they need
(`scorecard.store.campaigns`) and keeps what they find.

An entity is in scope when it is listed (not gone), the goal's track applies to it and
the campaign's own filter admits it (`Campaign.applies_to`); it is at the goal when its
stored certification says so, exemptions counted (`Campaign.at_goal`). Owners are
compared without regard to case, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from scorecard.entity import Entity
from scorecard.notify.events import (
    CAMPAIGN_DEADLINE_MISSED,
    CAMPAIGN_DEADLINE_NEAR,
    CAMPAIGN_DONE,
    CAMPAIGN_MILESTONE_MISSED,
    Event,
)
from scorecard.program.campaigns import Campaign
from scorecard.report import OUTCOME_CODES, Layout
from scorecard.results import Outcome
from scorecard.tracks import Track

# A goal check that passes or does not apply is met (as `Campaign.at_goal` counts it).
MET_CODES = frozenset({OUTCOME_CODES[Outcome.PASS], OUTCOME_CODES[Outcome.NOT_APPLICABLE]})
# How many of the owners furthest behind an event names.
OWNERS_IN_EVENTS = 5


class Status(StrEnum):
    NOT_STARTED = "not started"
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    DONE = "done"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class StoredPair:
    """What the store keeps of an entity on the goal's track: its certified level (with
    exemptions counted), the outcome letters and the checks they are of."""

    level: str | None
    codes: str | None
    layout: Layout | None


@dataclass(frozen=True, slots=True)
class Standing:
    """One entity in a campaign's scope."""

    entity_ref: str
    owner: str | None  # as stored
    level: str | None
    at_goal: bool
    evaluated: bool  # it has a stored certification on the goal's track
    title: str | None = None


@dataclass(frozen=True, slots=True)
class OwnerProgress:
    owner: str | None  # one stored spelling of the owner's ref; None: no owner
    in_scope: int
    at_goal: int

    @property
    def share(self) -> float | None:
        return share(self.at_goal, self.in_scope)

    @property
    def behind(self) -> int:
        return self.in_scope - self.at_goal


@dataclass(frozen=True)
class Progress:
    """A campaign's standings now, counted over the campaign and per owner."""

    campaign_id: str
    standings: tuple[Standing, ...]

    @property
    def in_scope(self) -> int:
        return len(self.standings)

    @property
    def at_goal(self) -> int:
        return sum(1 for s in self.standings if s.at_goal)

    @property
    def share(self) -> float | None:
        return share(self.at_goal, self.in_scope)

    @property
    def owners(self) -> list[OwnerProgress]:
        """Per owner, furthest behind first (`furthest_behind`)."""
        return furthest_behind(count_by_owner(self.standings))


def share(at_goal: int, in_scope: int) -> float | None:
    """The share at the goal; None when nothing is in scope."""
    return at_goal / in_scope if in_scope else None


def owner_key(owner: str | None) -> str | None:
    """Owners are one owner whatever the case of their refs."""
    return owner.lower() if owner is not None else None


def standing(
    campaign: Campaign,
    track: Track,
    entity: Entity,
    owner: str | None,
    pair: StoredPair | None,
    waived: Collection[str],
) -> Standing | None:
    """The standing of `entity` (stored with `owner`), or None when it is not in scope."""
    if not campaign.applies_to(entity, track):
        return None
    if pair is None:
        return Standing(entity.ref, owner, None, False, False, entity.title)
    at_goal = campaign.at_goal(pair.level, pair.layout or (), pair.codes or "", waived, track)
    return Standing(entity.ref, owner, pair.level, at_goal, True, entity.title)


def count_by_owner(standings: Iterable[Standing]) -> list[OwnerProgress]:
    """The standings counted per owner (refs that differ only in case are one owner,
    spelt as the first of its spellings in sort order)."""
    groups: dict[str | None, list[int]] = {}
    spellings: dict[str | None, str | None] = {}
    for s in standings:
        key = owner_key(s.owner)
        counts = groups.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += s.at_goal
        known = spellings.get(key)
        if key not in spellings or (s.owner is not None and known is not None and s.owner < known):
            spellings[key] = s.owner
    return [OwnerProgress(spellings[key], *counts) for key, counts in groups.items()]


def furthest_behind(owners: Iterable[OwnerProgress]) -> list[OwnerProgress]:
    """Owners by share at the goal ascending, then by how many entities they still have
    to bring there (most first), then by name; no owner last among equals."""
    return sorted(
        owners,
        key=lambda o: (
            o.share if o.share is not None else 1.0,
            -o.behind,
            o.owner is None,
            (o.owner or "").lower(),
        ),
    )


# --- status ---------------------------------------------------------------------------------


def today_of(now: datetime) -> date:
    """The UTC day of `now`: a campaign's days are UTC days."""
    return now.astimezone(UTC).date()


def is_done(in_scope: int, at_goal: int) -> bool:
    return in_scope > 0 and at_goal >= in_scope


def status(
    campaign: Campaign, today: date, in_scope: int, at_goal: int, *, ever_done: bool = False
) -> Status:
    """`not started` before the start; `done` once every entity in scope (at least one)
    has been at the goal — and from then on; `missed` once the deadline passed without
    that; `at risk` while the share is below what the latest milestone asked for by
    today or below a steady pace (`Campaign.straight_line_share`); else `on track`."""
    if today < campaign.start:
        return Status.NOT_STARTED
    if ever_done or is_done(in_scope, at_goal):
        return Status.DONE
    if today > campaign.deadline:
        return Status.MISSED
    current = share(at_goal, in_scope) or 0.0
    expected = campaign.expected_share(today)
    if (expected is not None and current < expected) or current < campaign.straight_line_share(
        today
    ):
        return Status.AT_RISK
    return Status.ON_TRACK


# --- events ---------------------------------------------------------------------------------


def goal_words(campaign: Campaign, track: Track | None) -> str:
    """`at silver on Production readiness`, `passing has_runbook on Production readiness`."""
    title = track.title if track is not None else campaign.track_id
    if campaign.level is not None:
        return f"at {campaign.level} on {title}"
    return f"passing {', '.join(campaign.checks)} on {title}"


def _entities(count: int) -> str:
    return f"{count} entit{'y' if count == 1 else 'ies'}"


def _counted(in_scope: int, at_goal: int, campaign: Campaign, track: Track | None) -> str:
    return f"{at_goal} of {_entities(in_scope)} {goal_words(campaign, track)}"


def _to_do(campaign: Campaign, track: Track | None, in_scope: int, at_goal: int) -> str:
    left = in_scope - at_goal
    if in_scope == 0:
        return "No entity is in scope yet: check the campaign's filter and the goal's track."
    if left <= 0:
        return "Nothing left to do: every entity in scope is at the goal."
    if campaign.level is not None:
        how = f"to {campaign.level}"
    else:
        how = f"to pass {', '.join(campaign.checks)} (or to an approved exemption)"
    return (
        f"What to do: bring the {_entities(left)} still short of the goal {how}; each one's "
        "page says what holds it back."
    )


def _owner_lines(owners: Sequence[OwnerProgress]) -> list[str]:
    behind = [o for o in furthest_behind(owners) if o.behind > 0]
    if not behind:
        return []
    shown = ", ".join(
        f"{o.owner or 'no owner'} ({o.at_goal} of {o.in_scope} at the goal)"
        for o in behind[:OWNERS_IN_EVENTS]
    )
    more = len(behind) - OWNERS_IN_EVENTS
    return [f"Furthest behind: {shown}" + (f", and {more} more." if more > 0 else ".")]


def campaign_events(
    campaign: Campaign,
    track: Track | None,
    now: datetime,
    in_scope: int,
    at_goal: int,
    owners: Sequence[OwnerProgress],
    *,
    ever_done: bool,
    share_on: Callable[[date], float | None],
    deadline_within_days: int,
) -> list[Event]:
    """The events a campaign's state calls for at `now`; each key names its occasion, so
    that the outbox keeps one of each however often this is asked:

    - `campaign.done:{id}` once it is done;
    - `campaign.milestone_missed:{id}:{date}` for a milestone whose day has passed with
      the share at the end of that day (`share_on`; None: unknown, the current share is
      taken) below it;
    - `campaign.deadline_near:{id}:{deadline}` within `deadline_within_days` of the
      deadline, not done;
    - `campaign.deadline_missed:{id}` once the deadline passed, not done.
    """
    today = today_of(now)
    state = status(campaign, today, in_scope, at_goal, ever_done=ever_done)
    if state is Status.NOT_STARTED:
        return []
    current = share(at_goal, in_scope) or 0.0
    counted = _counted(in_scope, at_goal, campaign, track)
    lines = [_to_do(campaign, track, in_scope, at_goal), *_owner_lines(owners)]
    data = {
        "track": campaign.track_id,
        "owner": campaign.owner,
        "in_scope": in_scope,
        "at_goal": at_goal,
        "deadline": campaign.deadline.isoformat(),
    }

    def event(
        kind: str, key: str, summary: str, told: list[str] | None = None, **extra: object
    ) -> Event:
        body = {**data, **extra, "summary": summary, "lines": lines if told is None else told}
        return Event(kind, key, now, campaign_id=campaign.id, data=body)

    found: list[Event] = []
    if state is Status.DONE:
        found.append(
            event(
                CAMPAIGN_DONE,
                f"{CAMPAIGN_DONE}:{campaign.id}",
                f"done: {counted}",
                ["Every entity in scope is at the goal."],
            )
        )
        return found
    for day, wanted in campaign.milestones:
        if day >= today:
            break
        then = share_on(day)
        reached = current if then is None else then
        if reached < wanted:
            found.append(
                event(
                    CAMPAIGN_MILESTONE_MISSED,
                    f"{CAMPAIGN_MILESTONE_MISSED}:{campaign.id}:{day.isoformat()}",
                    f"milestone {day.isoformat()} missed: {reached:.0%} at the goal where "
                    f"{wanted:.0%} was due; now {counted}",
                    milestone=day.isoformat(),
                    milestone_share=wanted,
                )
            )
    days_left = (campaign.deadline - today).days
    if state is Status.MISSED:
        found.append(
            event(
                CAMPAIGN_DEADLINE_MISSED,
                f"{CAMPAIGN_DEADLINE_MISSED}:{campaign.id}",
                f"deadline {campaign.deadline.isoformat()} missed: {counted}",
            )
        )
    elif 0 <= days_left <= deadline_within_days:
        when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left > 1 else ''}"
        found.append(
            event(
                CAMPAIGN_DEADLINE_NEAR,
                f"{CAMPAIGN_DEADLINE_NEAR}:{campaign.id}:{campaign.deadline.isoformat()}",
                f"deadline {campaign.deadline.isoformat()} {when}: {counted}",
            )
        )
    return found
