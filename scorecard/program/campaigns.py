"""Campaigns kept as code: YAML files that set a time-boxed goal on one track.

One document per campaign, several per file (`---`):

    apiVersion: scorecard/v1
    kind: Campaign
    id: silver-by-q1                      # unique across every campaign file
    title: Every production service at silver
    description: Silver means a runbook, an on-call rotation and CI.  # optional
    owner: group:default/platform         # optional entity ref (a bare name is a group)
    docs: https://wiki.example.com/q1     # optional http(s) URL
    goal:                                  # exactly one of `level` and `checks`
      track: production-readiness
      level: silver                        # or  checks: [has_runbook, has_oncall]
    filter: {spec.lifecycle: production}   # optional, as a track's `filter`
    exclude: {spec.type: library}          # optional, as a track's `exclude`
    start: 2027-01-01
    deadline: 2027-03-31                   # after start
    milestones:                            # optional: date → share at the goal by then
      2027-02-01: 0.25
      2027-03-01: 50%

The entities in scope are those the goal's track applies to, narrowed by the campaign's
own `filter` and `exclude` (the same Backstage catalog-filter syntax and matching as a
track's). Files are read as strictly as track and exemption files: every problem of every
file is reported at once, each with its `FILE:LINE:COL` and key path.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from scorecard.entity import Entity
from scorecard.filters import EntityFilter
from scorecard.problems import ConfigError, Problem
from scorecard.program.exemptions import exemption_files, normalize_entity_ref, target_problem
from scorecard.report import OUTCOME_CODES
from scorecard.results import Outcome

# The filter syntax and its validation are the tracks' own, so that a campaign's filter
# reads, fails and matches exactly as a track's does.
from scorecard.tracks import FilterSets, Track

# Read as track and exemption files are (size, aliases, depth, positions), with one
# difference: `_CampaignLoader`.
from scorecard.yamlfile import Loc, YamlDocument, load_yaml_documents

API_VERSION = "scorecard/v1"
KIND = "Campaign"

MAX_ID_LENGTH = 64
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# What YAML reads as a date, written as text (a quoted key, or a key as the file spells it).
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*%\s*$")
# A goal check counts as met when it passes or does not concern the entity.
_MET_CODES = frozenset({OUTCOME_CODES[Outcome.PASS], OUTCOME_CODES[Outcome.NOT_APPLICABLE]})


# --- values ---------------------------------------------------------------------------------


def parse_day(value: Any) -> date:
    """A date, or its text (`2027-03-31`); raises ValueError for anything else, a date
    and time included: a campaign's days are whole days."""
    if isinstance(value, datetime):  # before date: a datetime is a date too
        raise ValueError(f"{value.isoformat()} has a time; write a date such as 2027-03-31")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE.match(value.strip())
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError as error:
                raise ValueError(f"{value.strip()!r} is not a date: {error}") from None
        raise ValueError(f"{value[:40]!r} is not a date such as 2027-03-31")
    raise ValueError(f"expected a date such as 2027-03-31, not {type(value).__name__}")


def parse_share(value: Any) -> float:
    """A share of entities as a fraction: `0.5`, `1`, or a percentage `"50%"`. Raises
    ValueError unless it is more than 0 and at most 1 (100%)."""
    if isinstance(value, bool):
        raise ValueError("a share is a fraction (0.5) or a percentage (50%), not true or false")
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match is None:
            raise ValueError(
                f"{value[:40]!r} is not a share: write a fraction (0.5) or a percentage (50%)"
            )
        share, shown = float(match.group(1)) / 100, value.strip()
    elif isinstance(value, int | float):
        share, shown = float(value), repr(value)
    else:
        raise ValueError(
            f"a share is a fraction (0.5) or a percentage (50%), not {type(value).__name__}"
        )
    if math.isnan(share) or not 0 < share <= 1:
        raise ValueError(
            f"the share {shown} is not more than 0 and at most 1: write a fraction such as "
            "0.5 or a percentage such as 50%"
        )
    return share


def _campaign_id(value: str) -> str:
    if len(value) > MAX_ID_LENGTH or not _ID.match(value):
        raise ValueError(
            f"campaign id {value[:80]!r} must be lower-case letters, digits and '-', starting "
            f"with a letter or a digit, at most {MAX_ID_LENGTH} characters"
        )
    return value


def _owner(value: str) -> str:
    """An entity ref; without a kind, a group (as Backstage reads `spec.owner`)."""
    text = value.strip()
    return normalize_entity_ref(text if ":" in text else f"group:{text}")


def _url(value: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise ValueError(f"{text[:80]!r} is not an http(s) URL")
    return text


Day = Annotated[date, BeforeValidator(parse_day)]
Share = Annotated[float, BeforeValidator(parse_share)]


# --- the file format ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GoalConfig(_Strict):
    """What counts as done for one entity: a level of the track, or some of its checks."""

    track: str = Field(description="The id of a loaded track, published (not a draft).")
    level: str | None = Field(None, description="A level of the track, or above it.")
    checks: list[str] | None = Field(
        None, min_length=1, description="Configured check ids of the track that must all pass."
    )

    @model_validator(mode="after")
    def _level_or_checks(self) -> GoalConfig:
        if self.level is None and self.checks is None:
            raise ValueError(
                "give exactly one of `level` and `checks`: the level every entity must reach, "
                "or the checks that must all pass"
            )
        if self.level is not None and self.checks is not None:
            raise ValueError("give exactly one of `level` and `checks`, not both")
        return self


class CampaignFile(_Strict):
    """The schema of one campaign document (`apiVersion: scorecard/v1`, `kind: Campaign`)."""

    api_version: Literal["scorecard/v1"] = Field(alias="apiVersion")
    kind: Literal["Campaign"]
    id: Annotated[str, AfterValidator(_campaign_id)] = Field(
        description="Unique across campaign files: lower-case letters, digits and '-'."
    )
    title: str = Field(min_length=1)
    description: str | None = None
    owner: Annotated[str, AfterValidator(_owner)] | None = Field(
        None, description="Entity ref of the owner; a bare name is a group."
    )
    docs: Annotated[str, AfterValidator(_url)] | None = Field(
        None, description="URL of the campaign's page."
    )
    goal: GoalConfig
    filter: FilterSets | None = None
    exclude: FilterSets | None = None
    start: Day
    deadline: Day = Field(description="After start.")
    milestones: dict[Day, Share] | None = Field(
        None, description="Date → share of the entities in scope at the goal by then."
    )


# --- the loaded campaign ----------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """One campaign as a file defines it."""

    id: str
    title: str
    description: str | None
    owner: str | None  # a full entity ref
    docs: str | None
    track_id: str
    level: str | None  # the goal level, or None for a checks goal
    checks: tuple[str, ...]  # the goal checks; empty for a level goal
    start: date
    deadline: date
    milestones: tuple[tuple[date, float], ...]  # sorted by date; shares as fractions
    source: str  # the file
    line: int  # 1-based, where the document starts
    filter: EntityFilter | None = None
    exclude: EntityFilter | None = None

    def applies_to(self, entity: Entity, track: Track) -> bool:
        """Whether `entity` is in scope: the goal's track applies to it and the campaign's
        own filter and exclude admit it."""
        self._same_track(track)
        if not track.applies_to(entity):
            return False
        if self.filter is not None and not self.filter.matches(entity):
            return False
        return self.exclude is None or not self.exclude.matches(entity)

    def at_goal(
        self,
        level: str | None,
        layout: Sequence[tuple[str, str, bool]],
        codes: str,
        waived: Collection[str],
        track: Track,
    ) -> bool:
        """Whether an entity is at the goal.

        A level goal looks at `level` alone, the entity's certified level on the track
        (exemptions already counted): at or above the goal in the track's order. A checks
        goal looks at `codes`, one outcome letter per check of `layout`: each goal check
        passes, does not apply, or is in `waived`. Anything else — fail, warn, unknown,
        error, or no result for the check — is not at the goal.
        """
        self._same_track(track)
        if self.level is not None:
            order = [lvl.id for lvl in track.levels]
            if level not in order or self.level not in order:
                return False
            return order.index(level) >= order.index(self.level)
        positions = {head[0]: index for index, head in enumerate(layout)}
        for check_id in self.checks:
            if check_id in waived:
                continue
            position = positions.get(check_id)
            if position is None or position >= len(codes) or codes[position] not in _MET_CODES:
                return False
        return True

    def expected_share(self, day: date) -> float | None:
        """The share the milestones ask for by `day`: that of the latest milestone on or
        before it; None before the first (or without milestones)."""
        expected = None
        for when, share in self.milestones:
            if when > day:
                break
            expected = share
        return expected

    def straight_line_share(self, day: date) -> float:
        """The share a steady pace would have reached by `day`: 0 at the start, 1 at the
        deadline, linear in between, clamped outside."""
        total = (self.deadline - self.start).days
        if total <= 0:
            return 1.0 if day >= self.deadline else 0.0
        return min(1.0, max(0.0, (day - self.start).days / total))

    def _same_track(self, track: Track) -> None:
        if track.id != self.track_id:
            raise ValueError(
                f"campaign {self.id!r} is on track {self.track_id!r}, not {track.id!r}"
            )


# --- loading ------------------------------------------------------------------------------


def campaign_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and the `*.yaml` / `*.yml` files anywhere under folders, each
    folder's sorted; hidden files and folders are left out (as for exemption files)."""
    return exemption_files(paths)


def load_campaigns(paths: Iterable[Path], tracks: Sequence[Track]) -> list[Campaign]:
    """Every campaign of every file, against the loaded `tracks`; ConfigError listing every
    problem of every file."""
    campaigns: list[Campaign] = []
    problems: list[Problem] = []
    first: dict[str, Campaign] = {}
    for file in campaign_files(paths):
        if not file.exists():
            problems.append(Problem(str(file), "no such file or folder"))
            continue
        documents, file_problems = load_yaml_documents(file, loader_class=_CampaignLoader)
        for document in documents:
            campaign, found = _read_document(document, tracks)
            file_problems.extend(found)
            if campaign is None:
                continue
            if campaign.id in first:
                earlier = first[campaign.id]
                file_problems.append(
                    document.problem(
                        ("id",),
                        f"duplicate campaign id {campaign.id!r}: already defined at "
                        f"{earlier.source}:{earlier.line}",
                    )
                )
                continue
            first[campaign.id] = campaign
            campaigns.append(campaign)
        # In file order: a YAML problem of a later document is found before the others.
        problems.extend(sorted(file_problems, key=_position))
    if problems:
        raise ConfigError(problems)
    return campaigns


class _CampaignLoader(yaml.SafeLoader):
    """The safe loader, except that a plain date as a mapping key (`2027-03-01: 50%`, how
    milestones are written) is read as its text.

    The catalog's limits refuse a date as a key, as JSON cannot hold it: a stored entity
    must be JSON. A campaign document is never stored as it is, and its milestone dates are
    parsed from that text (`parse_day`).
    """

    def compose_mapping_node(self, anchor: str | None) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        for key, _ in node.value:
            if type(key) is yaml.ScalarNode and key.tag == _TIMESTAMP and key.style is None:
                key.tag = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
        return node


def _position(problem: Problem) -> tuple[int, int]:
    return problem.line or 0, problem.column or 0


def _read_document(
    document: YamlDocument, tracks: Sequence[Track]
) -> tuple[Campaign | None, list[Problem]]:
    """The campaign of one document, or None with every problem found in it."""
    data = document.data
    if not isinstance(data, dict):
        return None, [document.problem((), "a campaign must be a YAML mapping")]
    problems: list[Problem] = []
    config: CampaignFile | None = None
    milestones = _milestone_items(document)
    validated = data if milestones is None else {**data, "milestones": dict(milestones)}
    try:
        config = document.validate(CampaignFile, data=validated)
    except ConfigError as error:
        # A bad milestone date is reported at its key, not at `milestones.<key>.[key]`.
        problems.extend(replace(p, key=p.key.removesuffix(".[key]")) for p in error.problems)
    # Checked on the raw values too, so that a file with an unknown key also shows an
    # unknown level or a deadline before the start in the same pass.
    problems.extend(_goal_problems(document, tracks))
    problems.extend(_date_problems(document, milestones or []))
    if problems or config is None:
        return None, sorted(problems, key=_position)
    goal = config.goal
    campaign = Campaign(
        id=config.id,
        title=config.title,
        description=config.description,
        owner=config.owner,
        docs=config.docs,
        track_id=goal.track,
        level=goal.level,
        checks=tuple(goal.checks or ()),
        start=config.start,
        deadline=config.deadline,
        milestones=tuple(sorted((config.milestones or {}).items())),
        source=document.file,
        line=document.position(())[0],
        filter=EntityFilter.from_config(config.filter) if config.filter else None,
        exclude=EntityFilter.from_config(config.exclude) if config.exclude else None,
    )
    return campaign, []


def _milestone_items(document: YamlDocument) -> list[tuple[str, Any]] | None:
    """The milestones as (key as the file writes it, share), or None when `milestones` is
    no mapping. The text of each key is what its position is known by, so that a problem
    with a milestone names its own line (a key `1` is read as a number, yet known as "1")."""
    raw = document.data.get("milestones")
    if not isinstance(raw, dict):
        return None
    texts = [loc[1] for loc in document.positions if _is_milestone(loc)]
    if len(texts) == len(raw):  # keys in file order, as YAML builds the mapping
        return list(zip(texts, raw.values(), strict=True))
    # Keys Python takes for one (1 and 1.0; no date is written two ways): by their value.
    return [(_key_text(key), share) for key, share in raw.items()]


def _is_milestone(loc: Loc) -> bool:
    return len(loc) == 2 and loc[0] == "milestones" and isinstance(loc[1], str)


def _key_text(key: Any) -> str:
    return key.isoformat() if isinstance(key, date) else str(key)


def _goal_problems(document: YamlDocument, tracks: Sequence[Track]) -> list[Problem]:
    """An unknown track, or a level or check that the goal's track does not have."""
    goal = document.data.get("goal")
    if not isinstance(goal, dict) or not isinstance(goal.get("track"), str):
        return []  # a missing or mistyped value: the schema reports it
    track_id = goal["track"]
    track = next((t for t in tracks if t.id == track_id), None)
    if track is None:
        known = sorted(t.id for t in tracks)
        message = f"unknown track {track_id!r}{_choices(track_id, known, 'known tracks')}"
        return [document.problem(("goal", "track"), message)]
    problems: list[Problem] = []
    if track.draft:
        # A campaign holds teams to a deadline and tells them how they are doing; a draft
        # is previewed, not enforced. Refused rather than shown as a draft campaign: a
        # campaign on it would be the enforcement the draft exists to hold back.
        problems.append(
            document.problem(
                ("goal", "track"),
                f"track {track_id!r} is a draft: it is previewed, not enforced; publish it "
                "(remove `draft: true`) before a campaign sets a deadline on it",
            )
        )
    level = goal.get("level")
    levels = [lvl.id for lvl in track.levels]
    if isinstance(level, str) and level not in levels:
        hint = _choices(level, levels, "its levels")
        message = f"track {track_id!r} has no level {level!r}{hint}"
        problems.append(document.problem(("goal", "level"), message))
    checks = goal.get("checks")
    seen: set[str] = set()
    for index, check_id in enumerate(checks if isinstance(checks, list) else []):
        if not isinstance(check_id, str):
            continue
        loc: Loc = ("goal", "checks", index)
        if check_id in seen:
            problems.append(document.problem(loc, f"check {check_id!r} is listed twice"))
            continue
        seen.add(check_id)
        problem = target_problem(track_id, check_id, tracks)
        if problem is not None:
            problems.append(document.problem(loc, problem))
    return problems


def _date_problems(document: YamlDocument, milestones: list[tuple[str, Any]]) -> list[Problem]:
    """A deadline not after the start; milestones outside the campaign, on one day twice,
    or asking for less than an earlier one."""
    start = _day_or_none(document.data.get("start"))
    deadline = _day_or_none(document.data.get("deadline"))
    problems: list[Problem] = []
    if start is not None and deadline is not None and deadline <= start:
        problems.append(
            document.problem(
                ("deadline",),
                f"the deadline {deadline.isoformat()} is not after the start {start.isoformat()}",
            )
        )
        start = deadline = None  # every milestone would be outside: say it once
    seen: dict[date, str] = {}
    dated: list[tuple[date, str, float]] = []
    for text, raw_share in milestones:
        day = _day_or_none(text)
        if day is None:
            continue  # the schema reports it
        loc: Loc = ("milestones", text)
        if day in seen:
            problems.append(
                document.problem(loc, f"the milestone {text} is the same day as {seen[day]}")
            )
            continue
        seen[day] = text
        if start is not None and deadline is not None and not start <= day <= deadline:
            problems.append(
                document.problem(
                    loc,
                    f"the milestone {day.isoformat()} is outside the campaign, from its start "
                    f"{start.isoformat()} to its deadline {deadline.isoformat()}",
                )
            )
        try:
            dated.append((day, text, parse_share(raw_share)))
        except ValueError:
            continue  # the schema reports it
    dated.sort()
    for (_, earlier_text, earlier), (_, text, share) in pairwise(dated):
        if share < earlier:
            problems.append(
                document.problem(
                    ("milestones", text),
                    f"the share {share:.0%} is less than the {earlier:.0%} asked for by the "
                    f"earlier milestone {earlier_text}: each milestone asks for at least as much",
                )
            )
    return problems


def _day_or_none(value: Any) -> date | None:
    try:
        return parse_day(value)
    except ValueError:
        return None


def _choices(wanted: str, known: Sequence[str], noun: str) -> str:
    if not known:
        return f" (there are no {noun})"
    close = difflib.get_close_matches(wanted, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f" ({hint}{noun}: {', '.join(known)})"
