"""Tracks: YAML files of ordered maturity levels, each a list of configured checks.

Loading is two steps. The file is validated against the pydantic models below (the JSON
Schema that `scorecard schema` prints comes from them); then each configured check is
resolved against the check registry and its `with:` params validated by the check's own
params model. Every problem is reported with its file, line, column and key path.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from scorecard.entity import Entity
from scorecard.filters import EntityFilter
from scorecard.fixes.model import Fix
from scorecard.problems import ConfigError, Problem
from scorecard.registry import CheckRegistry
from scorecard.report import Layout, PairPacker
from scorecard.sdk import Check
from scorecard.thresholds import Threshold
from scorecard.yamlfile import Loc, YamlDocument, load_yaml

API_VERSION = "scorecard/v1"

Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        max_length=64,
        description="Lower-case letters, digits, '-' and '_'.",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- the file format ------------------------------------------------------------------


def _filter_sets(value: Any) -> Any:
    """A single filter set may be a mapping, a single value a scalar; all compare as text."""
    sets = [value] if isinstance(value, dict) else value
    if not isinstance(sets, list):
        return value
    normalised = []
    for filter_set in sets:
        if not isinstance(filter_set, dict):
            return value
        normalised.append(
            {
                key: [_text(v) for v in val] if isinstance(val, list) else [_text(val)]
                for key, val in filter_set.items()
            }
        )
    return normalised


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


FilterSets = Annotated[
    list[Annotated[dict[str, list[str]], Field(min_length=1)]],
    BeforeValidator(_filter_sets),
    Field(
        min_length=1,
        description="Backstage catalog-filter: keys AND, list values OR, a list of sets OR.",
    ),
]

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str, minimum: timedelta = timedelta(minutes=1)) -> timedelta:
    """`6h`, `1h30m`, `2d`, `45s` → timedelta; raises ValueError (also below `minimum`)."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 30m, 6h, 1d or 1h30m")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration < minimum:
        raise ValueError(f"{text!r} is shorter than {format_duration(minimum)}")
    return duration


def format_duration(duration: timedelta) -> str:
    """The inverse of parse_duration: timedelta(hours=1, minutes=30) → `1h30m`."""
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Every:
    interval: timedelta


def _schedule(value: Any) -> Any:
    """A five-field cron expression, or `{every: 6h}`."""
    if value is None or isinstance(value, Every):
        return value
    if isinstance(value, dict):
        if set(value) != {"every"} or not isinstance(value["every"], str):
            raise ValueError("an interval schedule is written {every: 6h}")
        return Every(parse_duration(value["every"]))
    if isinstance(value, str):
        from scorecard.schedules import schedule_trigger

        if len(value.split()) != 5:
            raise ValueError(f"invalid cron expression {value!r}: it needs five fields")
        try:
            schedule_trigger(value)
        except ValueError as error:
            raise ValueError(f"invalid cron expression {value!r}: {error}") from None
        return value
    raise ValueError('schedule is a cron expression ("0 */6 * * *") or {every: 6h}')


def _period(value: Any) -> Any:
    """A duration as text (`24h`, `7d`, `30s`), for grace and `max_age`."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is written as text like 30s, 6h, 1d or 1h30m")
    return parse_duration(value, minimum=timedelta(seconds=1))


Period = Annotated[
    timedelta,
    BeforeValidator(_period),
    WithJsonSchema({"type": "string", "examples": ["24h", "7d", "1h30m"]}),
]


def _threshold(value: Any) -> Any:
    from scorecard.thresholds import Comparison

    return value if isinstance(value, Comparison) else Comparison.parse(value)


ThresholdText = Annotated[
    Any,
    BeforeValidator(_threshold),
    WithJsonSchema({"type": "string", "examples": [">= 80", "< 5"]}),
]


Schedule = Annotated[
    Any,
    BeforeValidator(_schedule),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "Five-field cron expression."},
                {
                    "type": "object",
                    "properties": {"every": {"type": "string", "examples": ["6h", "1h30m"]}},
                    "required": ["every"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


EXTERNAL = "external"


class CheckConfig(_Strict):
    check: str = Field(
        description="The id of a registered check, or `external` for results pushed to "
        "`POST /api/v1/results`."
    )
    id: Slug | None = Field(None, description="Unique within the track; defaults to `check`.")
    title: str | None = None
    description: str | None = Field(None, description="Shown instead of the check's own.")
    remediation: str | None = Field(None, description="Shown instead of the check's own.")
    docs: str | None = Field(None, description="URL of the check's documentation.")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    required: bool = Field(True, description="false: a failure shows as warn, blocks nothing.")
    pass_when: ThresholdText | None = Field(
        None, description='For a check that reports a number: passes when it holds (">= 80").'
    )
    warn_when: ThresholdText | None = Field(
        None, description="Below `pass_when`: warns (blocks nothing) when it holds, else fails."
    )
    max_age: Period | None = Field(
        None,
        description="External checks: a pushed result older than this counts as unknown.",
    )
    grace: Period | None = Field(
        None,
        description="While the last pass or fail is younger than this, an unknown or error "
        "result keeps it for the level (overrides the track's `grace`).",
    )
    fix: Fix | None = Field(
        None,
        description="The change `scorecard fix` makes when the check fails, instead of the "
        "check's own: files from templates, edits to catalog-info.yaml.",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        return {"check": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> CheckConfig:
        if self.warn_when is not None and self.pass_when is None:
            raise ValueError("`warn_when` needs a `pass_when`")
        if self.check == EXTERNAL:
            if self.id is None:
                raise ValueError("an external check needs its own `id`")
            if self.with_:
                raise ValueError("an external check takes no `with:`; its results are pushed")
        elif self.max_age is not None:
            raise ValueError("`max_age` is for external checks (`check: external`)")
        if self.fix is not None:
            # Imported only for an entry with a fix: Jinja2 costs every command its import.
            from scorecard.fixes.templates import compile_fix

            compile_fix(self.fix, "fix")
        return self


class LevelConfig(_Strict):
    id: Slug
    title: str | None = None
    description: str | None = None
    checks: list[CheckConfig] = Field(min_length=1)


class TrackFile(_Strict):
    """The schema of a track file (`apiVersion: scorecard/v1`, `kind: Track`)."""

    api_version: Literal["scorecard/v1"] = Field(alias="apiVersion")
    kind: Literal["Track"]
    id: Slug
    title: str = Field(min_length=1)
    description: str = ""
    owner: str | None = Field(None, description="Entity ref of the owning group.")
    docs: str | None = Field(None, description="URL of the standard's documentation.")
    filter: FilterSets | None = None
    exclude: FilterSets | None = None
    schedule: Schedule = None
    draft: bool = Field(
        False,
        description="Evaluated and shown, but no badge, gate, notification or roll-up "
        "with the published tracks. Remove it to publish the track.",
    )
    grace: Period | None = Field(
        None,
        description="Default grace of every check: see the check entry's `grace`.",
    )
    levels: list[LevelConfig] = Field(min_length=1)


# --- the loaded track -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ConfiguredCheck:
    """A check as a track uses it: its own id, params, title and whether it is required;
    the track's own words for it, its threshold, grace and (external checks) `max_age`."""

    id: str
    check: Check
    params: BaseModel | None
    title: str
    required: bool
    level_id: str
    track_id: str
    description_text: str | None = None  # the track's, else the check's own
    remediation_text: str | None = None
    docs: str | None = None
    threshold: Threshold | None = None
    grace: timedelta | None = None  # the entry's, else the track's
    max_age: timedelta | None = None
    fix_override: Fix | None = None  # the entry's `fix:`

    @property
    def fix(self) -> Fix | None:
        """What `scorecard fix` does when it fails: the entry's `fix:`, else the check's."""
        return self.fix_override or self.check.fix

    @property
    def remediation(self) -> str:
        if self.remediation_text is not None:
            return self.remediation_text
        return self.check.remediation_for(self.params)

    @property
    def description(self) -> str:
        return self.description_text or self.check.meta.description

    @property
    def docs_url(self) -> str | None:
        return self.docs or self.check.meta.docs_url

    @property
    def external(self) -> bool:
        """Its results are pushed (`POST /api/v1/results`), not evaluated."""
        return self.check.id == EXTERNAL


@dataclass(frozen=True, eq=False)
class Level:
    id: str
    title: str
    description: str | None
    checks: tuple[ConfiguredCheck, ...]


@dataclass(frozen=True, eq=False)
class Track:
    id: str
    title: str
    description: str
    owner: str | None
    docs: str | None
    filter: EntityFilter | None
    exclude: EntityFilter | None
    schedule: str | timedelta | None  # a cron expression or an interval
    levels: tuple[Level, ...]
    source: str
    draft: bool = False
    grace: timedelta | None = None

    def applies_to(self, entity: Entity) -> bool:
        if self.filter is not None and not self.filter.matches(entity):
            return False
        return self.exclude is None or not self.exclude.matches(entity)

    @cached_property
    def checks(self) -> tuple[ConfiguredCheck, ...]:
        """Every configured check, level by level (computed once: the executor's hot path)."""
        return tuple(c for level in self.levels for c in level.checks)

    @cached_property
    def graced(self) -> bool:
        """Some check keeps its last pass or fail through a flaky source (`grace`)."""
        return any(c.grace is not None for c in self.checks)

    @cached_property
    def external_checks(self) -> tuple[ConfiguredCheck, ...]:
        return tuple(c for c in self.checks if c.external)

    def find_check(self, check_id: str) -> ConfiguredCheck | None:
        return next((c for c in self.checks if c.id == check_id), None)

    @cached_property
    def reusable(self) -> bool:
        """Every check is pure: an entity's stored results stand while its document and
        the track are as they were (see `fingerprint`)."""
        return all(configured.check.pure for configured in self.checks)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything a pure check's result depends on besides the entity: the
        track's levels and checks, each check's params and requirement, the code of each
        check function, and scorecard's version. Any change makes it differ."""
        parts: list[Any] = [_scorecard_version(), self.id]
        for level in self.levels:
            parts.append(level.id)
            for c in level.checks:
                params = c.params.model_dump_json() if c.params is not None else None
                parts.append((c.id, c.check.id, c.check.module, c.required, params))
                parts.append((repr(c.threshold), c.grace, c.max_age))
                parts.append(marshal.dumps(c.check.func.__code__))
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    def inputs_digest(self, entity: Entity) -> str:
        """What the track's results on `entity` depend on when every check is pure,
        hashed: the entity's document and the track's fingerprint. Equal digests, equal
        results."""
        # Both are hashes already: side by side they change when either does.
        return entity.digest() + self.inputs_digest_suffix

    @cached_property
    def inputs_digest_suffix(self) -> str:
        """The track's part of `inputs_digest`, after the document's."""
        return self.fingerprint[:16]

    @cached_property
    def packer(self) -> PairPacker:
        """Certifies and packs an entity's results on this track (made once: the
        executor's hot path)."""
        levels, position = [], 0
        for level in self.levels:
            required = tuple(position + i for i, c in enumerate(level.checks) if c.required)
            levels.append((level.id, required))
            position += len(level.checks)
        heads = [(c.id, c.level_id, c.required) for c in self.checks]
        return PairPacker(self.id, heads, levels)

    @cached_property
    def layout(self) -> Layout:
        """(check id, level id, required) of each check in order: one tuple that every
        packed pair of the track shares (`scorecard.report.PairResults`)."""
        return self.packer.layout


@cache
def _scorecard_version() -> str:
    try:
        return version("scorecard")
    except PackageNotFoundError:  # run from a source tree
        return "unknown"


def load_track(path: Path, registry: CheckRegistry) -> Track:
    return track_from_document(load_yaml(path), registry)


def track_from_document(document: YamlDocument, registry: CheckRegistry) -> Track:
    """A track from a YAML document already read: a file, or text sent to the API
    (`scorecard.yamlfile.load_yaml_text`). Raises ConfigError with every problem."""
    if not isinstance(document.data, dict):
        raise ConfigError([document.problem((), "a track file must be a YAML mapping")])
    try:
        config: TrackFile = document.validate(TrackFile)
    except ConfigError as error:
        # Report the checks' own problems too, so one pass shows everything to fix.
        problems = error.problems + _entry_problems(document, registry)
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0))) from None
    return _resolve(config, document, registry)


def _entry_problems(document: YamlDocument, registry: CheckRegistry) -> list[Problem]:
    """Problems of the check entries that are well-formed in a file that is not."""
    problems: list[Problem] = []
    levels = document.data.get("levels")
    for li, level in enumerate(levels if isinstance(levels, list) else []):
        entries = level.get("checks") if isinstance(level, dict) else None
        for ci, raw in enumerate(entries if isinstance(entries, list) else []):
            try:
                entry = CheckConfig.model_validate(raw)
            except ValidationError:
                continue  # already reported by the file's own validation
            resolved = _check_and_params(entry, ("levels", li, "checks", ci), document, registry)
            if isinstance(resolved, list):
                problems.extend(resolved)
    return problems


def _check_and_params(
    entry: CheckConfig, loc: Loc, document: YamlDocument, registry: CheckRegistry
) -> tuple[Check, BaseModel | None] | list[Problem]:
    """The registered check an entry names and its validated params, or the problems."""
    if entry.check == EXTERNAL:
        from scorecard.pushed import EXTERNAL_CHECK

        return EXTERNAL_CHECK, None
    check = registry.get(entry.check)
    if check is None:
        return [document.problem((*loc, "check"), _unknown_check(entry, registry))]
    try:
        return check, check.parse_params(entry.with_)
    except ValidationError as error:
        assert check.params_model is not None
        return document.problems_from(error, check.params_model, (*loc, "with"))
    except TypeError as error:
        return [document.problem((*loc, "with"), str(error))]


def _resolve(config: TrackFile, document: YamlDocument, registry: CheckRegistry) -> Track:
    problems: list[Problem] = []
    levels = []
    seen_checks: dict[str, tuple[int, int]] = {}
    seen_levels: set[str] = set()
    for li, level_config in enumerate(config.levels):
        if level_config.id in seen_levels:
            problems.append(
                document.problem(("levels", li, "id"), f"duplicate level id {level_config.id!r}")
            )
        seen_levels.add(level_config.id)
        checks = []
        for ci, entry in enumerate(level_config.checks):
            loc = ("levels", li, "checks", ci)
            resolved = _check_and_params(entry, loc, document, registry)
            if isinstance(resolved, list):
                problems.extend(resolved)
                continue
            check, params = resolved
            check_id = entry.id or entry.check
            if check_id in seen_checks:
                first = seen_checks[check_id]
                problems.append(
                    document.problem(
                        loc,
                        f"duplicate check id {check_id!r} (first used at line {first[0]}); "
                        "give this one its own `id:`",
                    )
                )
                continue
            seen_checks[check_id] = document.position(loc)
            threshold = (
                Threshold(entry.pass_when, entry.warn_when) if entry.pass_when is not None else None
            )
            external = entry.check == EXTERNAL
            checks.append(
                ConfiguredCheck(
                    id=check_id,
                    check=check,
                    params=params,
                    title=entry.title or (check_id if external else check.meta.title),
                    required=entry.required,
                    level_id=level_config.id,
                    track_id=config.id,
                    description_text=entry.description,
                    remediation_text=entry.remediation,
                    docs=entry.docs,
                    threshold=threshold,
                    grace=entry.grace or config.grace,
                    max_age=entry.max_age,
                    fix_override=entry.fix,
                )
            )
        levels.append(
            Level(
                id=level_config.id,
                title=level_config.title or level_config.id.replace("-", " ").title(),
                description=level_config.description,
                checks=tuple(checks),
            )
        )
    if problems:
        raise ConfigError(problems)
    schedule = config.schedule
    return Track(
        id=config.id,
        title=config.title,
        description=config.description,
        owner=config.owner,
        docs=config.docs,
        filter=EntityFilter.from_config(config.filter) if config.filter else None,
        exclude=EntityFilter.from_config(config.exclude) if config.exclude else None,
        schedule=schedule.interval if isinstance(schedule, Every) else schedule,
        levels=tuple(levels),
        source=document.file,
        draft=config.draft,
        grace=config.grace,
    )


def _unknown_check(entry: CheckConfig, registry: CheckRegistry) -> str:
    import difflib

    close = difflib.get_close_matches(entry.check, [c.id for c in registry], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (see `scorecard checks list`)"
    return f"unknown check {entry.check!r}{hint}"


def track_files(paths: Iterable[Path]) -> list[Path]:
    """Track files named directly or found in folders (`*.yaml`, `*.yml`), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_tracks(paths: Iterable[Path], registry: CheckRegistry) -> list[Track]:
    """Load every track file, collecting all problems before raising."""
    tracks: list[Track] = []
    problems: list[Problem] = []
    first_source: dict[str, str] = {}
    for file in track_files(paths):
        if not file.exists():
            problems.append(Problem(str(file), "no such file or folder"))
            continue
        try:
            track = load_track(file, registry)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if track.id in first_source:
            problems.append(
                Problem(
                    str(file), f"track id {track.id!r} is already used by {first_source[track.id]}"
                )
            )
            continue
        first_source[track.id] = str(file)
        tracks.append(track)
    if problems:
        raise ConfigError(problems)
    return tracks


def track_json_schema() -> dict[str, Any]:
    schema = TrackFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "scorecard track"
    return schema
