"""Exemptions kept as code: YAML files that waive one check for one entity, for a while.

One document per exemption, several per file (`---`):

    apiVersion: scorecard/v1
    kind: Exemption
    entity: component:default/nightly-report  # kind:name or kind:namespace/name
    track: production-readiness               # optional: every track that has the check
    check: has_oncall
    justification: A nightly batch job has nobody to page; a failed night is retried.
    expires: 2027-03-01                       # a date (00:00 UTC) or a datetime with a zone
    requested_by: group:default/data-team     # optional free text

Files are read as strictly as track files: every problem of every file is reported at
once, each with its `FILE:LINE:COL` and key path. The rules that the HTTP API shares
(`justification_problem`, `expiry_problem`, `target_problem`, `normalize_entity_ref`)
take plain values and return a message, so either side words a refusal the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# Backstage's own rules for names, namespaces and kinds, as catalog entities obey them.
from scorecard.entity import _KIND, _MAX_NAME, _NAME, _NAMESPACE, parse_ref
from scorecard.problems import ConfigError, Problem
from scorecard.yamlfile import Loc, YamlDocument, load_yaml_documents

if TYPE_CHECKING:  # only annotations: importing tracks pulls in the check registry
    from scorecard.tracks import Track

API_VERSION = "scorecard/v1"
KIND = "Exemption"

# "At least a sentence": enough to say why the check does not fit, not just "n/a" or
# "legacy app". A reviewer reads this months later to decide whether to renew.
MIN_JUSTIFICATION_WORDS = 4
MIN_JUSTIFICATION_CHARS = 20

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUFFIXES = (".yaml", ".yml")


# --- rules shared with the API ----------------------------------------------------------


def justification_problem(text: str) -> str | None:
    """Why `text` is too thin to justify an exemption, or None when it will do."""
    stripped = text.strip()
    words = len(stripped.split())
    if len(stripped) >= MIN_JUSTIFICATION_CHARS and words >= MIN_JUSTIFICATION_WORDS:
        return None
    return (
        f"the justification must be at least a sentence: {MIN_JUSTIFICATION_CHARS} characters "
        f"and {MIN_JUSTIFICATION_WORDS} words (this one has {len(stripped)} characters and "
        f"{words} {'word' if words == 1 else 'words'}); say why the check does not apply"
    )


def expiry_problem(expires_at: datetime, now: datetime, max_days: int) -> str | None:
    """Why an exemption may not end at `expires_at` (both aware), or None.

    It must end after `now` and no more than `max_days` days after it: exemptions are
    renewed on purpose, never kept by forgetting them.
    """
    if expires_at <= now:
        return f"the expiry {_shown(expires_at)} is in the past (now is {_shown(now)})"
    latest = now + timedelta(days=max_days)
    if expires_at > latest:
        return (
            f"the expiry {_shown(expires_at)} is more than {max_days} days away, the limit "
            f"(exemptions.max_days); the latest allowed date is {latest.date().isoformat()}"
        )
    return None


def parse_expiry(value: Any) -> datetime:
    """A date (the exemption ends at 00:00 UTC that day), an aware datetime or ISO text of
    either, as an aware UTC datetime. A datetime without a time zone is refused: it would
    end at a different moment on every server."""
    if isinstance(value, str):
        value = _parse_iso(value.strip())
    if isinstance(value, datetime):  # before date: a datetime is a date too
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{value.isoformat()} has no time zone; write a date (2027-03-01) or a date "
                "and time with its zone (2027-03-01T12:00:00Z)"
            )
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{value.isoformat()} is out of range") from None
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise ValueError(
        f"expected a date (2027-03-01) or a date and time with its zone "
        f"(2027-03-01T12:00:00Z), not {type(value).__name__}"
    )


def target_problem(track_id: str | None, check_id: str, tracks: Sequence[Track]) -> str | None:
    """Why (`track_id`, `check_id`) names no configured check, or None.

    Without a track, the check must be configured on at least one track.
    """
    if track_id is None:
        known = sorted({c.id for track in tracks for c in track.checks})
        if check_id in known:
            return None
        return f"no track has a check {check_id!r}{_choices(check_id, known, 'configured checks')}"
    track = next((t for t in tracks if t.id == track_id), None)
    if track is None:
        known = sorted(t.id for t in tracks)
        return f"unknown track {track_id!r}{_choices(track_id, known, 'known tracks')}"
    checks = [c.id for c in track.checks]
    if check_id in checks:
        return None
    return f"track {track_id!r} has no check {check_id!r}{_choices(check_id, checks, 'its checks')}"


def normalize_entity_ref(text: str) -> str:
    """`Component:Default/payments` → `component:default/payments`; the namespace defaults
    to `default`. Raises ValueError for anything but `kind:name` or `kind:namespace/name`
    with Backstage's rules for each part (a kind is never guessed: an exemption for the
    wrong kind of entity would silently waive nothing)."""
    if not isinstance(text, str):
        raise ValueError(f"an entity ref is text, not {type(text).__name__}")
    stripped = text.strip()
    kind, colon, _ = stripped.partition(":")
    if not colon or not kind:
        raise ValueError(
            f"entity ref {stripped!r} has no kind: write kind:name or kind:namespace/name "
            "(component:default/payments)"
        )
    ref = parse_ref(stripped)
    if not _KIND.match(ref.kind):
        raise ValueError(f"entity ref {stripped!r}: {ref.kind!r} is not a valid kind")
    if not _NAMESPACE.match(ref.namespace):
        raise ValueError(f"entity ref {stripped!r}: {ref.namespace!r} is not a valid namespace")
    if len(ref.name) > _MAX_NAME or not _NAME.match(ref.name):
        raise ValueError(
            f"entity ref {stripped!r}: {ref.name!r} is not a valid name (letters, digits and "
            f"single -_. separators, at most {_MAX_NAME} characters)"
        )
    return str(ref)


def _parse_iso(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if _DATE_ONLY.match(text) else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is not a date (2027-03-01) or a date and time with its zone "
            "(2027-03-01T12:00:00Z)"
        ) from None


def _shown(moment: datetime) -> str:
    """A date alone for midnight UTC (how most expiries are written), else ISO in UTC."""
    moment = moment.astimezone(UTC)
    if moment.timetz() == time(0, tzinfo=UTC):
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _choices(wanted: str, known: Sequence[str], noun: str) -> str:
    if not known:
        return f" (there are no {noun})"
    close = difflib.get_close_matches(wanted, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f" ({hint}{noun}: {', '.join(known)})"


# --- the file format ----------------------------------------------------------------------


def _justification(text: str) -> str:
    problem = justification_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text.strip()


class ExemptionFile(BaseModel):
    """The schema of one exemption document (`apiVersion: scorecard/v1`, `kind: Exemption`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["scorecard/v1"] = Field(alias="apiVersion")
    kind: Literal["Exemption"]
    entity: Annotated[str, AfterValidator(normalize_entity_ref)] = Field(
        description="Entity ref: kind:name or kind:namespace/name."
    )
    track: str | None = Field(None, description="A track id; without it, every track.")
    check: str = Field(description="The id of a configured check.")
    justification: Annotated[str, AfterValidator(_justification)]
    expires: Annotated[datetime, BeforeValidator(parse_expiry)] = Field(
        description="A date (ends at 00:00 UTC) or a datetime with a time zone."
    )
    requested_by: str | None = None


@dataclass(frozen=True)
class ExemptionSpec:
    """One exemption as a file defines it."""

    entity_ref: str
    track_id: str | None
    check_id: str
    justification: str
    expires_at: datetime  # aware, UTC
    requested_by: str | None
    source: str  # the file
    line: int  # 1-based, where the document starts

    @property
    def key(self) -> tuple[str, str | None, str]:
        """What two exemptions may not share."""
        return self.entity_ref, self.track_id, self.check_id


# --- loading ----------------------------------------------------------------------------


def exemption_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and the `*.yaml` / `*.yml` files anywhere under folders, each
    folder's sorted. Hidden files and folders (`.git`, editor backups) are left out."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = (
                p
                for p in path.rglob("*")
                # Not `is_file()`: a FIFO or a device named *.yaml is reported, not skipped.
                if p.suffix in _SUFFIXES
                and not p.is_dir()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files.extend(sorted(found))
        else:
            files.append(path)
    return files


def load_exemptions(
    paths: Iterable[Path],
    tracks: Sequence[Track],
    max_days: int,
    now: datetime,
    *,
    allow_expired: bool = False,
) -> list[ExemptionSpec]:
    """Every exemption of every file; ConfigError listing every problem of every file.

    `allow_expired`: an expiry in the past is no problem. A server reloading the files
    passes it, so that a file valid yesterday does not block every reload today (the
    exemption simply ends); `scorecard validate` does not, so that CI asks for its removal.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    specs: list[ExemptionSpec] = []
    problems: list[Problem] = []
    first: dict[tuple[str, str | None, str], ExemptionSpec] = {}
    for file in exemption_files(paths):
        if not file.exists():
            problems.append(Problem(str(file), "no such file or folder"))
            continue
        documents, file_problems = load_yaml_documents(file)
        for document in documents:
            spec, found = _read_document(document, tracks, max_days, now, allow_expired)
            file_problems.extend(found)
            if spec is None:
                continue
            if spec.key in first:
                file_problems.append(_duplicate(document, spec, first[spec.key]))
                continue
            first[spec.key] = spec
            specs.append(spec)
        # In file order: a YAML problem of a later document is found before the others.
        problems.extend(sorted(file_problems, key=lambda p: (p.line or 0, p.column or 0)))
    if problems:
        raise ConfigError(problems)
    return specs


def _read_document(
    document: YamlDocument,
    tracks: Sequence[Track],
    max_days: int,
    now: datetime,
    allow_expired: bool,
) -> tuple[ExemptionSpec | None, list[Problem]]:
    """The exemption of one document, or None with every problem found in it."""
    data = document.data
    if not isinstance(data, dict):
        return None, [document.problem((), "an exemption must be a YAML mapping")]
    problems: list[Problem] = []
    config: ExemptionFile | None = None
    try:
        config = document.validate(ExemptionFile)
    except ConfigError as error:
        problems.extend(error.problems)
    # Checked on the raw values too, so that a file with an unknown key also shows an
    # unknown check or a late expiry in the same pass.
    problems.extend(_target_problems(document, tracks))
    problems.extend(_expiry_problems(document, max_days, now, allow_expired))
    if problems or config is None:
        return None, sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
    spec = ExemptionSpec(
        entity_ref=config.entity,
        track_id=config.track,
        check_id=config.check,
        justification=config.justification,
        expires_at=config.expires,
        requested_by=config.requested_by,
        source=document.file,
        line=document.position(())[0],
    )
    return spec, []


def _target_problems(document: YamlDocument, tracks: Sequence[Track]) -> list[Problem]:
    track_id, check_id = document.data.get("track"), document.data.get("check")
    if not isinstance(check_id, str) or not (track_id is None or isinstance(track_id, str)):
        return []  # a missing or mistyped value: the schema reports it
    problem = target_problem(track_id, check_id, tracks)
    if problem is None:
        return []
    unknown_track = track_id is not None and all(t.id != track_id for t in tracks)
    loc: Loc = ("track",) if unknown_track else ("check",)
    return [document.problem(loc, problem)]


def _expiry_problems(
    document: YamlDocument, max_days: int, now: datetime, allow_expired: bool
) -> list[Problem]:
    try:
        expires_at = parse_expiry(document.data.get("expires"))
    except ValueError:
        return []  # the schema reports it
    if allow_expired and expires_at <= now:
        return []
    problem = expiry_problem(expires_at, now, max_days)
    return [] if problem is None else [document.problem(("expires",), problem)]


def _duplicate(document: YamlDocument, spec: ExemptionSpec, first: ExemptionSpec) -> Problem:
    on = f"track {spec.track_id!r}" if spec.track_id else "every track"
    return document.problem(
        ("entity",),
        f"duplicate exemption: {spec.entity_ref} is already exempted from {spec.check_id!r} "
        f"on {on} at {first.source}:{first.line}",
    )
