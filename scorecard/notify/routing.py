"""From events to messages: which rules an event meets, which targets they name, and what
the message says — what changed, what to do about it, and where to look.

A rule with `digest` sends one message per target per run, listing every change of the
run it covers; any other rule one message per event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scorecard.entity import Entity
from scorecard.filters import EntityFilter
from scorecard.notify import events as kinds
from scorecard.tracks import Track
from scorecard.workspace import NotificationRule, NotificationsConfig


@dataclass(frozen=True, slots=True)
class Routed:
    """An event as routing reads it."""

    id: int
    key: str
    kind: str
    run_id: int | None
    entity_ref: str | None
    track_id: str | None
    campaign_id: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    target: str
    key: str  # the idempotency key: the same events to the same target, the same key
    events: tuple[int, ...]
    title: str
    body: str


@dataclass(frozen=True)
class Context:
    """What messages are written with: the tracks (titles, remediation), the entities'
    owners and documents, and where the pages are."""

    tracks: Mapping[str, Track]
    owners: Mapping[str, str | None]  # entity ref → owner ref
    documents: Mapping[str, Entity]  # entity ref → entity, for rules with a filter
    public_url: str | None
    campaign_titles: Mapping[str, str]


def matches(rule: NotificationRule, event: Routed, context: Context) -> bool:
    if not any(_kind_matches(wanted, event.kind) for wanted in rule.events):
        return False
    track = event.track_id or event.data.get("track")
    if rule.tracks and track not in rule.tracks:
        return False
    if rule.campaigns and event.campaign_id not in rule.campaigns:
        return False
    owner = _owner(event, context)
    if rule.owners and (owner or "").lower() not in {o.lower() for o in rule.owners}:
        return False
    if rule.filter:
        entity = context.documents.get(event.entity_ref or "")
        if entity is None or not EntityFilter.from_config(rule.filter).matches(entity):
            return False
    return True


def _kind_matches(wanted: str, kind: str) -> bool:
    if wanted == "*" or wanted == kind:
        return True
    return wanted.endswith(".*") and kind.startswith(wanted[:-1])


def _owner(event: Routed, context: Context) -> str | None:
    if event.entity_ref is not None:
        return context.owners.get(event.entity_ref)
    return event.data.get("owner")


def of_draft(event: Routed, context: Context) -> bool:
    """An event of a draft track: recorded like any, and routed to no one."""
    track = context.tracks.get(event.track_id or event.data.get("track") or "")
    return track is not None and track.draft


def route(events: Sequence[Routed], config: NotificationsConfig, context: Context) -> list[Message]:
    """The messages `events` make under `config`'s rules: one per event and target, or
    one per run and target for a digest rule; a target is named once per event.

    Events of draft tracks make none. The dispatcher marks them routed all the same, so
    publishing the track (removing `draft: true`) sends nothing of its draft days.
    """
    owners_targets = {owner.lower(): name for owner, name in config.owners.items()}
    single: dict[tuple[str, int], Routed] = {}
    digests: dict[tuple[str, int | None], list[Routed]] = {}
    for event in events:
        if of_draft(event, context):
            continue
        for rule in config.rules:
            if not matches(rule, event, context):
                continue
            targets = list(rule.targets)
            owner = _owner(event, context)
            if rule.to_owner and owner and owner.lower() in owners_targets:
                targets.append(owners_targets[owner.lower()])
            for target in targets:
                if rule.digest and event.run_id is not None:
                    digests.setdefault((target, event.run_id), []).append(event)
                else:
                    single[target, event.id] = event
    messages = []
    for (target, _), event in single.items():
        title, body = describe(event, context)
        messages.append(_message(target, [event], title, body))
    for (target, run_id), grouped in digests.items():
        unique = list({event.id: event for event in grouped}.values())
        # An event both sent alone and in a digest to one target goes in the digest only.
        ids = {e.id for e in unique}
        messages = [m for m in messages if not (m.target == target and m.events[0] in ids)]
        title, body = digest(run_id, unique, context)
        messages.append(_message(target, unique, title, body))
    return messages


def _message(target: str, events: Sequence[Routed], title: str, body: str) -> Message:
    keys = "\n".join(sorted(event.key for event in events))
    key = hashlib.sha256(f"{target}\n{keys}".encode()).hexdigest()[:32]
    return Message(target, key, tuple(event.id for event in events), title, body)


def page_url(context: Context, ref: str) -> str:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    path = f"/catalog/{kind}/{namespace}/{name}"
    return f"{context.public_url}{path}" if context.public_url else path


def describe(event: Routed, context: Context) -> tuple[str, str]:
    """The title and body of a message about one event."""
    data, ref = event.data, event.entity_ref or ""
    track = context.tracks.get(event.track_id or "")
    track_title = track.title if track else event.track_id
    describer = _DESCRIBERS.get(event.kind, _generic)
    title, lines = describer(event, context, track, track_title)
    if ref:
        lines.append(f"Page: {page_url(context, ref)}")
    why = data.get("why")
    if why and event.kind in (kinds.CERTIFICATION_LOST, kinds.CERTIFICATION_GAINED):
        lines.insert(0, f"Why: {why}.")
    return title, "\n".join(lines)


def _remediation(track: Track | None, check_id: str) -> str | None:
    if track is None:
        return None
    configured = next((c for c in track.checks if c.id == check_id), None)
    return configured.remediation if configured else None


def _level(level: str | None) -> str:
    return level or "no level"


def _lost(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    data = event.data
    lines = []
    for blocker in data.get("blocking", []):
        lines.append(
            f"Now failing: {blocker['check']} ({blocker['outcome']}): {blocker['message']}"
        )
        fix = _remediation(track, blocker["check"])
        if fix and blocker["outcome"] == "fail":
            lines.append(f"How to fix: {fix}")
    heading = (
        f"{event.entity_ref} dropped from {_level(data.get('from'))} to "
        f"{_level(data.get('to'))} on {title}"
    )
    return heading, lines


def _gained(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    data = event.data
    heading = (
        f"{event.entity_ref} reached {_level(data.get('to'))} on {title} "
        f"(was {_level(data.get('from'))})"
    )
    return heading, []


def _failing(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    data = event.data
    message = data.get("message")
    lines = [str(message)] if message else []
    fix = _remediation(track, data.get("check", ""))
    if fix:
        lines.append(f"How to fix: {fix}")
    return f"{data.get('check')} now fails for {event.entity_ref} on {title}", lines


def _exemption(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    data = event.data
    on = f" on {title}" if track or event.track_id else ""
    verb = "expired" if event.kind == kinds.EXEMPTION_EXPIRED else "expires"
    heading = (
        f"The exemption of {data.get('check')} for {event.entity_ref}{on} {verb} "
        f"{str(data.get('expires_at', ''))[:10]}"
    )
    lines = [f"Justification: {data.get('justification')}"]
    if event.kind == kinds.EXEMPTION_EXPIRING:
        lines.append("Fix the check, or ask for a new exemption, before then.")
    return heading, lines


def _run_failed(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    return f"Run {event.run_id} failed", [str(event.data.get("failure", ""))]


def _generic(
    event: Routed, context: Context, track: Track | None, title: str | None
) -> tuple[str, list[str]]:
    data = event.data
    name = context.campaign_titles.get(event.campaign_id or "", event.campaign_id)
    summary = data.get("summary") or event.kind
    heading = f"{name}: {summary}" if event.campaign_id else str(summary)
    lines = [str(line) for line in data.get("lines", [])]
    if event.campaign_id:
        base = context.public_url or ""
        lines.append(f"Page: {base}/campaigns/{event.campaign_id}")
    return heading, lines


_DESCRIBERS: dict[str, Callable[..., tuple[str, list[str]]]] = {
    kinds.CERTIFICATION_LOST: _lost,
    kinds.CERTIFICATION_GAINED: _gained,
    kinds.CHECK_FAILING: _failing,
    kinds.EXEMPTION_EXPIRING: _exemption,
    kinds.EXEMPTION_EXPIRED: _exemption,
    kinds.RUN_FAILED: _run_failed,
}


def digest(run_id: int | None, events: Iterable[Routed], context: Context) -> tuple[str, str]:
    """One message for a run's changes: a line each, with its page."""
    events = list(events)
    lost = sum(1 for e in events if e.kind == kinds.CERTIFICATION_LOST)
    gained = sum(1 for e in events if e.kind == kinds.CERTIFICATION_GAINED)
    counts = [f"{lost} level{'' if lost == 1 else 's'} lost"] if lost else []
    counts += [f"{gained} gained"] if gained else []
    others = len(events) - lost - gained
    counts += [f"{others} other change{'' if others == 1 else 's'}"] if others else []
    # Changes made outside a run (an exemption that expired) have no run to name.
    where = f"Run {run_id}" if run_id is not None else "Scorecard"
    title = f"{where}: {', '.join(counts)}"
    lines = []
    for event in events:
        heading, _ = describe(event, context)
        link = f" — {page_url(context, event.entity_ref)}" if event.entity_ref else ""
        lines.append(f"- {heading}{link}")
    return title, "\n".join(lines)
