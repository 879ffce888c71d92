"""The answers of the MCP tools, read from a service's store and loaded configuration
through the API's own helpers.

A question that names nothing known (an entity, owner, track, level or check) raises
`ToolError` with a sentence saying what was not found and what is, close matches first:
the agent reads it and asks again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from api import convert
from api.routes.campaigns import list_campaigns
from api.routes.entities import build_scorecard
from api.schemas import CheckResultOut, TrackScorecard
from scorecard.entity import parse_ref
from scorecard.mcp.models import (
    BlockingCheck,
    CampaignBlocker,
    CampaignEntity,
    CheckAnswer,
    CheckUse,
    EntityLinks,
    EntityMatch,
    EntitySearch,
    ExemptedCheck,
    LevelExplanation,
    OwnerAnswer,
    OwnerCampaign,
    OwnerCampaigns,
    OwnerEntity,
    OwnerTrackLevels,
    ScorecardAnswer,
    TrackExplanation,
)
from scorecard.program.progress import share
from scorecard.results import NON_BLOCKING
from scorecard.service.config import LoadedConfig
from scorecard.service.service import Service
from scorecard.store import EntityRecord
from scorecard.store.campaigns import Blocker as GoalGap
from scorecard.store.queries import NO_LEVEL
from scorecard.tracks import ConfiguredCheck, Track

# How many entities' names a lookup that found nothing compares with the one asked for.
SUGGESTION_POOL = 5000
# The entities of one owner listed under each campaign, furthest from done first.
CAMPAIGN_ENTITIES = 50


@dataclass(frozen=True)
class Links:
    """Addresses of the pages and API: absolute under `base` (the public URL, or the
    address the request came to), else paths on the scorecard server."""

    base: str = ""

    def __call__(self, path: str) -> str:
        return self.base + path

    def entity(self, ref: str) -> str:
        return self(f"/catalog/{_path(ref)}")

    def entity_api(self, ref: str) -> str:
        return self(f"/api/v1/entities/{_path(ref)}")

    def owner(self, ref: str) -> str:
        return self(f"/owners/{ref}")

    def track(self, track_id: str) -> str:
        return self(f"/tracks/{track_id}")

    def campaign(self, campaign_id: str) -> str:
        return self(f"/campaigns/{campaign_id}")


def _path(ref: str) -> str:
    kind, _, rest = ref.partition(":")
    return f"{kind}/{rest}"


# --- entities ----------------------------------------------------------------------------


def find_entity(service: Service, text: str) -> EntityRecord:
    """The stored entity `text` names (`[kind:][namespace/]name`, kind `component` by
    default, any case), or a ToolError naming it and the closest stored ones."""
    try:
        wanted = str(parse_ref(text, default_kind="component"))
    except ValueError as error:
        raise ToolError(f"{error}; give a ref such as component:default/payments") from None
    record = service.store.entity(wanted)
    if record is None:
        close = _did_you_mean(_close_entities(service, wanted))
        raise ToolError(f"no entity {wanted} has been evaluated{close}")
    return record


def _close_entities(service: Service, wanted: str) -> list[str]:
    name = wanted.rpartition("/")[2]
    page = service.store.find_entities(
        kind=None, owner=None, track=None, level=None, outcome=None, query=name, limit=5, offset=0
    )
    if page.items:
        return [e.ref for e in page.items]
    by_name: dict[str, list[str]] = {}
    for record in service.store.entities(limit=SUGGESTION_POOL):
        by_name.setdefault(record.name.lower(), []).append(record.ref)
    close = difflib.get_close_matches(name.lower(), list(by_name), n=5)
    return [ref for found in close for ref in by_name[found]][:5]


def _did_you_mean(candidates: Sequence[str]) -> str:
    return f" (did you mean {', '.join(candidates)}?)" if candidates else ""


def scorecard(service: Service, links: Links, entity: str, track: str | None) -> ScorecardAnswer:
    record = find_entity(service, entity)
    card = build_scorecard(service, record)
    tracks = card.tracks if track is None else [_on_track(record.ref, card.tracks, track)]
    return ScorecardAnswer(
        entity=card.entity,
        description=card.description,
        tracks=tracks,
        links=EntityLinks(
            page=links.entity(record.ref),
            api=links.entity_api(record.ref),
            badges={t.track: links(t.badge) for t in tracks},
        ),
    )


def _on_track(ref: str, tracks: Sequence[TrackScorecard], track_id: str) -> TrackScorecard:
    found = next((t for t in tracks if t.track == track_id), None)
    if found is None:
        known = ", ".join(t.track for t in tracks) or "none: no track's filter selects it"
        raise ToolError(f"{ref} is not evaluated on a track {track_id!r}; its tracks: {known}")
    return found


def find_entities(
    service: Service,
    links: Links,
    *,
    query: str | None,
    owner: str | None,
    kind: str | None,
    track: str | None,
    level: str | None,
    limit: int,
    offset: int,
) -> EntitySearch:
    config = service.config.current
    if track is not None:
        _track(config, track)
    page = service.store.find_entities(
        kind=kind,
        owner=_owner_ref(owner) if owner is not None else None,
        track=track,
        level=level,
        outcome=None,
        query=query,
        limit=limit,
        offset=offset,
    )
    return EntitySearch(
        total=page.total,
        limit=limit,
        offset=offset,
        entities=_with_levels(service, links, page.items, EntityMatch),
    )


# An entity as a list shows it: with its levels and its page.
Listed = TypeVar("Listed", EntityMatch, OwnerEntity)


def _with_levels(
    service: Service, links: Links, records: Sequence[EntityRecord], model: type[Listed]
) -> list[Listed]:
    """Each entity with its level on every track and its page, read in one query."""
    certifications = service.store.certifications_for([e.ref for e in records])
    return [
        model(
            entity=convert.entity(e, {c.track_id: c.level for c in certifications[e.ref]}),
            page=links.entity(e.ref),
        )
        for e in records
    ]


# --- why not at a level --------------------------------------------------------------------


def explain(
    service: Service, links: Links, entity: str, level: str | None, track: str | None
) -> LevelExplanation:
    """Per track of the entity (or `track`), what keeps it below `level` (else its next
    level): the failing required checks up to it, and the exemptions standing in."""
    record = find_entity(service, entity)
    card = build_scorecard(service, record)
    config = service.config.current
    chosen = card.tracks if track is None else [_on_track(record.ref, card.tracks, track)]
    if not chosen:
        raise ToolError(f"{record.ref} is on no track: no track's filter selects it")
    if level is not None:
        having = [t for t in chosen if any(lvl.id == level for lvl in t.levels)]
        if not having:
            levels = "; ".join(
                f"{t.track}: {', '.join(lvl.id for lvl in t.levels)}" for t in chosen
            )
            raise ToolError(f"no track of {record.ref} has a level {level!r}; levels: {levels}")
        chosen = having
    return LevelExplanation(
        entity=record.ref,
        tracks=[_explain_track(record.ref, t, config.track(t.track), level, links) for t in chosen],
    )


def _explain_track(
    ref: str, card: TrackScorecard, track: Track | None, level: str | None, links: Links
) -> TrackExplanation:
    ids = [lvl.id for lvl in card.levels]
    # Without a level asked for: the next one, or the top one once it is reached.
    target = level or card.next_level or ids[-1]
    upto = ids.index(target)
    blocking: list[BlockingCheck] = []
    exempted: list[ExemptedCheck] = []
    for lvl in card.levels[: upto + 1]:
        for result in lvl.checks:
            configured = track.find_check(result.id) if track is not None else None
            if result.exemption is not None and result.exemption.needed:
                exempted.append(
                    ExemptedCheck(
                        id=result.id,
                        title=result.title,
                        level=lvl.id,
                        outcome=result.outcome,
                        message=result.message,
                        exemption=result.exemption,
                    )
                )
            elif (
                result.required and result.outcome not in NON_BLOCKING and result.exemption is None
            ):
                blocking.append(_blocking(result, lvl.id, configured))
    reached = card.levels[upto].reached
    return TrackExplanation(
        track=card.track,
        title=card.title,
        draft=card.draft,
        level=card.level,
        target=target,
        reached=reached,
        summary=_summary(ref, card, target, reached, blocking, exempted),
        blocking=blocking,
        exempted=exempted,
        page=links.entity(ref),
    )


def _blocking(
    result: CheckResultOut, level: str, configured: ConfiguredCheck | None
) -> BlockingCheck:
    # The configured check has the track's own words; a track reloaded since the
    # scorecard was read may have lost it, and then the result's copy is what there is.
    return BlockingCheck(
        id=result.id,
        check=configured.check.id if configured else (result.check or result.id),
        title=result.title,
        level=level,
        outcome=result.outcome,
        message=result.message,
        description=configured.description if configured else "",
        remediation=configured.remediation if configured else (result.remediation or ""),
        docs_url=configured.docs_url if configured else result.docs_url,
    )


def _summary(
    ref: str,
    card: TrackScorecard,
    target: str,
    reached: bool,
    blocking: Sequence[BlockingCheck],
    exempted: Sequence[ExemptedCheck],
) -> str:
    where = f"{ref} is at {card.level or 'no level'} on {card.title}"
    if card.draft:
        where += " (a draft track: its level is a preview)"
    if reached:
        text = f"{where}, so it has reached {target}."
    elif blocking:
        named = ", ".join(f"{b.id} ({b.outcome or 'not evaluated yet'})" for b in blocking)
        count = (
            "1 required check blocks"
            if len(blocking) == 1
            else f"{len(blocking)} required checks block"
        )
        text = f"{where}; {count} {target}: {named}."
    else:
        text = (
            f"{where}; no required check up to {target} fails now: the next run will "
            "recompute its level."
        )
    if exempted:
        text += f" {len(exempted)} more pass only through an exemption in effect."
    return text


# --- checks ------------------------------------------------------------------------------


def describe_check(service: Service, links: Links, check: str, track: str | None) -> CheckAnswer:
    """A check by its id on a track (or a registered check's id), with each configuration
    of it: description, remediation, docs, level, params."""
    config = service.config.current
    if track is not None:
        found = _track(config, track)
        uses = [c for c in found.checks if check in (c.id, c.check.id)]
        if not uses:
            ids = [c.id for c in found.checks]
            raise ToolError(
                f"track {found.id} has no check {check!r}"
                f"{_did_you_mean(difflib.get_close_matches(check, ids, n=3))}; "
                f"its checks: {', '.join(ids)}"
            )
    else:
        uses = [c for t in config.tracks for c in t.checks if check in (c.id, c.check.id)]
    registered = config.registry.get(check)
    if registered is None and len({c.check.id for c in uses}) == 1:
        registered = uses[0].check  # `check` is a track's own id for a configured check
    if registered is None and not uses:
        known = sorted(
            {c.id for c in config.registry} | {c.id for t in config.tracks for c in t.checks}
        )
        raise ToolError(
            f"no check {check!r} is registered or used by a track"
            f"{_did_you_mean(difflib.get_close_matches(check, known, n=3))}"
        )
    tracks = config.tracks_by_id
    return CheckAnswer(
        registered=convert.check(registered, config.registry) if registered else None,
        uses=[_use(c, tracks[c.track_id], links) for c in uses],
    )


def _use(configured: ConfiguredCheck, track: Track, links: Links) -> CheckUse:
    return CheckUse(
        **convert.configured_check(configured).model_dump(),
        track=track.id,
        track_title=track.title,
        level=configured.level_id,
        threshold=configured.threshold.describe() if configured.threshold else None,
        track_page=links.track(track.id),
    )


def _track(config: LoadedConfig, track_id: str) -> Track:
    found = config.track(track_id)
    if found is None:
        ids = [t.id for t in config.tracks]
        raise ToolError(
            f"no track {track_id!r}{_did_you_mean(difflib.get_close_matches(track_id, ids, n=3))}; "
            f"tracks: {', '.join(ids) or 'none'}"
        )
    return found


# --- owners ------------------------------------------------------------------------------


def _owner_ref(text: str) -> str:
    try:
        return str(parse_ref(text, default_kind="group"))
    except ValueError as error:
        raise ToolError(f"{error}; give an owner ref such as group:default/payments") from None


def _unknown_owner(service: Service, owner: str) -> ToolError:
    owners = {
        row.owner.lower(): row.owner
        for track in service.config.current.tracks
        for row in service.store.owners_rollup(track.id)
        if row.owner
    }
    # By name: refs share `group:default/`, which would make every owner look close.
    by_name: dict[str, list[str]] = {}
    for key, ref in owners.items():
        by_name.setdefault(key.rpartition("/")[2], []).append(ref)
    name = owner.rpartition("/")[2].lower()
    close = difflib.get_close_matches(name, list(by_name), n=3)
    close += [n for n in by_name if name in n and n not in close]
    found = [ref for n in close for ref in by_name[n]]
    return ToolError(f"no evaluated entity is owned by {owner}{_did_you_mean(found[:5])}")


def owner_entities(
    service: Service, links: Links, owner: str, track: str | None, limit: int, offset: int
) -> OwnerAnswer:
    """A page of an owner's entities with their level on every track, and how many of
    them are at each level of each track."""
    ref = _owner_ref(owner)
    config = service.config.current
    if track is not None:
        _track(config, track)
    page = service.store.find_entities(
        kind=None, owner=ref, track=track, level=None, outcome=None, query=None,
        limit=limit, offset=offset,
    )  # fmt: skip
    if page.total == 0:
        if track is not None and _owns_any(service, ref):
            raise ToolError(f"no entity of {ref} is evaluated on track {track}")
        raise _unknown_owner(service, ref)
    tracks = config.tracks_by_id
    ref = page.items[0].owner or ref  # as the catalog spells it
    return OwnerAnswer(
        owner=ref,
        total=page.total,
        limit=limit,
        offset=offset,
        entities=_with_levels(service, links, page.items, OwnerEntity),
        tracks=[
            OwnerTrackLevels(
                track=r.track_id,
                title=tracks[r.track_id].title,
                draft=tracks[r.track_id].draft,
                levels={level or NO_LEVEL: count for level, count in r.levels.items()},
            )
            for r in service.store.owner_rollup(ref, track)
            if r.track_id in tracks
        ],
        page=links.owner(ref),
    )


def _owns_any(service: Service, owner: str) -> bool:
    found = service.store.find_entities(
        kind=None, owner=owner, track=None, level=None, outcome=None, query=None, limit=1, offset=0
    )
    return found.total > 0


def owner_campaigns(service: Service, links: Links, owner: str) -> OwnerCampaigns:
    """The campaigns with entities of `owner` in scope: each campaign's overall progress,
    the owner's own, and the owner's entities not at the goal with what holds them back."""
    ref = _owner_ref(owner)
    config = service.config.current
    recorded = (
        service.store.owner_campaigns(ref, [c.id for c in config.campaigns])
        if config.campaigns
        else {}
    )
    if not recorded:
        if not _owns_any(service, ref):
            raise _unknown_owner(service, ref)
        return OwnerCampaigns(owner=ref, campaigns=[])
    campaigns = sorted(
        (c for c in config.campaigns if c.id in recorded and c.track_id in config.tracks_by_id),
        key=lambda c: (c.deadline, c.id),
    )
    overall = {c.id: c for c in list_campaigns(service, campaigns)}
    tracks = config.tracks_by_id
    now = datetime.now(UTC)
    owned = service.store.entities(owner=ref)
    refs = [e.ref for e in owned]
    ref = next((e.owner for e in owned if e.owner), ref)  # as the catalog spells it
    measured = service.store.measure_campaigns(campaigns, tracks, now, entity_refs=refs)
    found = []
    for campaign in campaigns:
        track = tracks[campaign.track_id]
        progress = measured.get(campaign.id)
        standings = progress.standings if progress else ()
        behind = [s for s in standings if not s.at_goal]
        shown = behind[:CAMPAIGN_ENTITIES]
        blockers = service.store.campaign_blockers(
            campaign, track, [s.entity_ref for s in shown], now
        )
        at_goal = len(standings) - len(behind)
        found.append(
            OwnerCampaign(
                campaign=overall[campaign.id],
                in_scope=len(standings),
                at_goal=at_goal,
                share=share(at_goal, len(standings)),
                not_at_goal=[
                    CampaignEntity(
                        ref=s.entity_ref,
                        title=s.title,
                        level=s.level,
                        blocking=_campaign_blockers(track, blockers.get(s.entity_ref, ())),
                        page=links.entity(s.entity_ref),
                    )
                    for s in shown
                ],
                not_at_goal_total=len(behind),
                page=links.campaign(campaign.id),
            )
        )
    return OwnerCampaigns(owner=ref, campaigns=found)


def _campaign_blockers(track: Track, gaps: Iterable[GoalGap]) -> list[CampaignBlocker]:
    found = []
    for gap in gaps:
        configured = track.find_check(gap.check_id)
        found.append(
            CampaignBlocker(
                check=gap.check_id,
                title=configured.title if configured else gap.check_id,
                outcome=gap.outcome,
                message=gap.message,
                remediation=configured.remediation if configured else None,
            )
        )
    return found
