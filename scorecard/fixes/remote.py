"""Pull requests at scale: a track's fixes, planned from a workspace's stored results and
opened as one pull request per GitHub repository.

`plans_from_store` finds the entities whose latest stored results keep them below a level
(or failing named checks) and plans their fixes; `pull_request_plans` groups the fixes per
repository, with catalog edits on each entity's catalog file and a body that says what
each entity gains and what is left by hand; `open_fix_prs` opens or updates the pull
requests (`scorecard.fixes.pull_requests`) and reports per repository and per entity.
Every step is a plain read of the store: nothing is evaluated again.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scorecard.entity import Entity, InvalidEntity, parse_ref
from scorecard.fixes import pr_text
from scorecard.fixes.catalog_edit import CatalogEditError, edit_catalog_text
from scorecard.fixes.locations import UnknownCatalogPath, catalog_path
from scorecard.fixes.model import CatalogChange, FileChange
from scorecard.fixes.plan import EntityFixPlan, FixTarget, Unfixed, fix_target, plan_entity
from scorecard.fixes.pull_requests import (
    BRANCH,
    PullRequestOutcome,
    PullRequestPlan,
    RemoteEdit,
    open_pull_requests,
)
from scorecard.inputs import InputUnavailable
from scorecard.problems import ConfigError, Problem
from scorecard.results import Outcome
from scorecard.sources.github import TOKEN_ENV, GitHubClient, repository_slug
from scorecard.tracks import Track

if TYPE_CHECKING:
    from scorecard.store import Store
    from scorecard.waivers import Waivers
    from scorecard.workspace import Workspace

PlannedEntity = tuple[Entity, EntityFixPlan]
# Pull requests made at once; each makes a few requests of its own, one after the other.
MAX_CONCURRENT = 4
AUDIT_ACTION = "fixes.pull_requests"
# Up to this many entities asked for by ref are read one by one; more (a campaign's
# entities behind its goal) are picked out of the track's pairs, read a chunk at a time.
ONE_BY_ONE = 50


def stored_refs(store: Store, refs: Iterable[str]) -> list[str]:
    """Entity refs as a user gives them (`payments`, `component:payments`, any case) → the
    refs the store has them under; ConfigError names those it does not have."""
    found, problems = [], []
    for text in refs:
        try:
            wanted = str(parse_ref(text, default_kind="component"))
        except ValueError as error:
            problems.append(Problem("entities", str(error)))
            continue
        record = store.entity(wanted)
        if record is None:
            problems.append(Problem("entities", f"no entity {wanted} has been evaluated"))
        elif record.ref not in found:
            found.append(record.ref)
    if problems:
        raise ConfigError(problems)
    return found


# --- planning from the store -------------------------------------------------------------


@dataclass(frozen=True)
class SkippedEntity:
    """An entity that gets no pull request, and why."""

    entity_ref: str
    reason: str
    repository: str | None = None


@dataclass
class StoredPlans:
    """What the store says: the entities below the target with their plans, and the
    entities asked for by ref that are not (with why)."""

    planned: list[PlannedEntity] = field(default_factory=list)
    skipped: list[SkippedEntity] = field(default_factory=list)


def plans_from_store(
    store: Store,
    tracks: Mapping[str, Track],
    values: Mapping[str, Any],
    *,
    track_id: str,
    level: str | None = None,
    check_ids: Sequence[str] = (),
    entity_refs: Sequence[str] | None = None,
) -> list[PlannedEntity]:
    """The entities on the track (all, or those of `entity_refs`, stored refs) whose latest
    stored results keep them below `level` (or fail one of `check_ids`), each with the
    plan of its fixes. Entities with nothing to fix automatically are included: their
    plans say what is left by hand."""
    target = fix_target(tracks, track_id, level, check_ids)
    return read_plans(store, target, values, entity_refs=entity_refs).planned


def read_plans(
    store: Store,
    target: FixTarget,
    values: Mapping[str, Any],
    *,
    entity_refs: Sequence[str] | None = None,
) -> StoredPlans:
    """`plans_from_store` for a checked target, with what was passed over among the
    entities asked for by ref."""
    found = StoredPlans()
    waivers = store.waivers(entity_refs=entity_refs)
    if entity_refs is not None and len(entity_refs) <= ONE_BY_ONE:
        pairs = _named_pairs(store, target, waivers, entity_refs, found.skipped)
    else:
        pairs = _every_pair(store, target, waivers, entity_refs, found.skipped)
    for chunk in pairs:
        records = {r.ref: r for r in store.entities_by_ref([ref for ref, _ in chunk])}
        for ref, outcomes in chunk:
            record = records.get(ref)
            try:
                entity = Entity(record.raw, source=record.source) if record else None
            except InvalidEntity as error:
                found.skipped.append(SkippedEntity(ref, f"its stored document is invalid: {error}"))
                continue
            if entity is None:
                continue  # gone since its results were read
            waived = set(waivers.for_pair(ref, target.track.id)) if waivers else set()
            plan = plan_entity(
                entity,
                target.track,
                outcomes,
                values,
                level=target.level,
                check_ids=target.check_ids,
                waived=waived,
            )
            found.planned.append((entity, plan))
    return found


Pairs = Iterable[list[tuple[str, dict[str, Outcome | None]]]]


def _every_pair(
    store: Store,
    target: FixTarget,
    waivers: Waivers,
    refs: Sequence[str] | None,
    skipped: list[SkippedEntity],
) -> Pairs:
    """The track's listed entities (all, or those of `refs`) below the target, with their
    stored outcomes, read a chunk at a time (`Store.track_chunks`: keyset pages of the
    certification rows); of `refs`, the others are skipped, saying why."""
    track_id = target.track.id
    wanted = None if refs is None else set(refs)
    seen: set[str] = set()
    for chunk in store.track_chunks(track_id, target.levels):
        below = []
        for pair in chunk:
            if wanted is not None and pair.ref not in wanted:
                continue
            seen.add(pair.ref)
            waived = waivers.for_pair(pair.ref, track_id) if waivers else {}
            outcomes: dict[str, Outcome | None] = dict(pair.outcomes)
            if target.keeps_below(pair.level, outcomes, waived):
                below.append((pair.ref, outcomes))
            elif wanted is not None:
                skipped.append(SkippedEntity(pair.ref, _meets(target, pair.level)))
        if below:
            yield below
    for ref in refs or ():
        if ref not in seen:
            skipped.append(SkippedEntity(ref, _not_listed(store, ref, track_id)))


def _named_pairs(
    store: Store,
    target: FixTarget,
    waivers: Waivers,
    refs: Sequence[str],
    skipped: list[SkippedEntity],
) -> Pairs:
    """The named entities below the target; the others are skipped, saying why."""
    track = target.track
    below = []
    records = {record.ref: record for record in store.entities_by_ref(refs)}
    for ref in refs:
        certification = store.certification(ref, track.id)
        record = records.get(ref)
        if certification is None or record is None or record.gone_run is not None:
            skipped.append(SkippedEntity(ref, _not_listed(store, ref, track.id)))
            continue
        outcomes: dict[str, Outcome | None] = {
            r.check_id: r.outcome for r in store.results(entity_ref=ref, track_id=track.id)
        }
        waived = waivers.for_pair(ref, track.id) if waivers else {}
        if target.keeps_below(certification.level, outcomes, waived):
            below.append((ref, outcomes))
        else:
            skipped.append(SkippedEntity(ref, _meets(target, certification.level)))
    if below:
        yield below


def _not_listed(store: Store, ref: str, track_id: str) -> str:
    """Why an entity asked for is not among the track's listed entities."""
    record = store.entity(ref)
    if record is None or record.gone_run is not None:
        return "it is no longer in the catalog"
    return f"it has no stored results on {track_id}"


def _meets(target: FixTarget, level: str | None) -> str:
    if target.level is not None:
        return f"it is at {level} already, at or above {target.level}"
    return f"it passes (or is exempted from) {', '.join(target.check_ids)} already"


# --- grouping per repository -------------------------------------------------------------


@dataclass
class RepositoryPlans:
    """The pull request of each repository, the entities each holds, what its pull
    request leaves out (`notes`), and the entities that get none."""

    plans: list[PullRequestPlan] = field(default_factory=list)
    entities: dict[str, list[str]] = field(default_factory=dict)  # "owner/repo" → refs
    notes: dict[str, list[str]] = field(default_factory=dict)  # "owner/repo" → sentences
    skipped: list[SkippedEntity] = field(default_factory=list)
    repository_of: dict[str, str] = field(default_factory=dict)  # ref → "owner/repo"
    # Catalog edits refused as they were applied (each names its entity and why).
    catalog_edits: dict[str, CatalogFileEdit] = field(default_factory=dict)


class CatalogFileEdit:
    """The catalog edits of one file, of every entity of a repository described in it,
    applied one after the other to its text. An entity whose edit is refused (its document
    is not found, the file is not YAML it can edit) is left as it is and recorded in
    `refused`; the others are still made."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.changes: list[tuple[Entity, CatalogChange]] = []
        self.refused: dict[str, str] = {}  # entity ref → why

    def __call__(self, text: str) -> str:
        for entity, change in self.changes:
            try:
                text = edit_catalog_text(
                    text, (entity.kind, entity.namespace, entity.name), change, source=self.path
                )
            except CatalogEditError as error:
                self.refused[entity.ref] = str(error)
        return text


def pull_request_plans(
    planned: Sequence[PlannedEntity],
    target: FixTarget,
    *,
    public_url: str | None,
    branch: str = BRANCH,
    web_host: str = "github.com",
) -> RepositoryPlans:
    """One pull request per GitHub repository holding the rendered fixes of its entities.

    Files are merged (two entities asking for one path: the first wins); catalog edits are
    made on each entity's catalog file (`scorecard.fixes.locations`), and left out, with
    why, when its path is not known. Entities with nothing to fix, or with no GitHub
    repository, are skipped, saying why.
    """
    grouped = RepositoryPlans()
    by_repository: dict[tuple[str, str], list[PlannedEntity]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for entity, plan in planned:
        if not plan.fixes:
            grouped.skipped.append(SkippedEntity(entity.ref, _nothing_fixable(plan)))
            continue
        try:
            owner, repo = repository_slug(entity, web_host)
        except InputUnavailable as error:
            grouped.skipped.append(SkippedEntity(entity.ref, str(error)))
            continue
        key = (owner.lower(), repo.lower())
        names.setdefault(key, (owner, repo))
        by_repository.setdefault(key, []).append((entity, plan))
    for key, members in by_repository.items():
        owner, repo = names[key]
        _plan_repository(grouped, target, owner, repo, members, public_url, branch, web_host)
    return grouped


def _plan_repository(
    grouped: RepositoryPlans,
    target: FixTarget,
    owner: str,
    repo: str,
    members: list[PlannedEntity],
    public_url: str | None,
    branch: str,
    web_host: str,
) -> None:
    name = f"{owner}/{repo}"
    files: dict[str, FileChange] = {}
    edits: dict[str, CatalogFileEdit] = {}
    notes: list[str] = []
    sections = []
    for entity, plan in members:
        left_out: dict[str, str] = {}
        for fix in plan.fixes:
            for change in fix.files:
                files.setdefault(change.path, change)  # the first entity asking wins
        change = _merged_catalog_change(plan)
        if change is not None:
            try:
                path = catalog_path(entity, (owner, repo), web_host)
            except UnknownCatalogPath as error:
                reason = str(error)
                notes.append(
                    f"{entity.ref}: its catalog edits are not in the pull request: {reason}"
                )
                left_out = {fix.check_id: reason for fix in plan.fixes if fix.catalog}
            else:
                edits.setdefault(path, CatalogFileEdit(path)).changes.append((entity, change))
        grouped.repository_of[entity.ref] = name
        grouped.entities.setdefault(name, []).append(entity.ref)
        sections.append(
            pr_text.EntitySection(plan, pr_text.entity_page(public_url, entity.ref), left_out)
        )
    grouped.notes[name] = notes
    for path, edit in edits.items():
        grouped.catalog_edits[f"{name}:{path}"] = edit
    if not files and not edits:
        return  # nothing of it can be in a pull request: its notes say why
    grouped.plans.append(
        PullRequestPlan(
            owner,
            repo,
            pr_text.title(target.track, target.level, target.check_ids),
            pr_text.body(
                target.track, target.level, sections, branch=branch, public_url=public_url
            ),
            files=list(files.values()),
            edits=[RemoteEdit(path, edit) for path, edit in edits.items()],
        )
    )


def _merged_catalog_change(plan: EntityFixPlan) -> CatalogChange | None:
    merged: CatalogChange | None = None
    for fix in plan.fixes:
        if fix.catalog is not None:
            merged = fix.catalog if merged is None else merged.merged(fix.catalog)
    return merged


def _nothing_fixable(plan: EntityFixPlan) -> str:
    if not plan.unfixed:
        return "nothing keeps it below the target that a fix could change"
    count = len(plan.unfixed)
    checks = "check needs" if count == 1 else "checks need"
    return f"nothing to fix automatically: {count} {checks} doing by hand"


# --- opening them ------------------------------------------------------------------------


@dataclass(frozen=True)
class RepositoryReport:
    repository: str  # "owner/repo"
    action: str  # as `PullRequestOutcome.action`
    number: int | None
    url: str | None
    files: list[str]  # paths written, or that would be
    skipped: list[str]  # paths left alone: they exist, and are never overwritten
    notes: list[str]  # what the pull request leaves out, and why
    error: str | None
    entities: list[str]

    @property
    def failed(self) -> bool:
        return self.action == "failed"


@dataclass(frozen=True)
class EntityReport:
    entity_ref: str
    repository: str | None
    level_before: str | None
    level_after: str | None
    reaches_target: bool
    fixes: list[tuple[str, str]]  # (check id, check title)
    unfixed: list[Unfixed]

    @classmethod
    def of(cls, plan: EntityFixPlan, repository: str | None) -> EntityReport:
        return cls(
            plan.entity_ref,
            repository,
            plan.level_before,
            plan.level_after,
            plan.reaches_target,
            [(fix.check_id, fix.check_title) for fix in plan.fixes],
            list(plan.unfixed),
        )


@dataclass
class FixPullRequestsReport:
    track_id: str
    track_title: str
    level: str | None
    check_ids: list[str]
    dry_run: bool
    branch: str
    repositories: list[RepositoryReport] = field(default_factory=list)
    entities: list[EntityReport] = field(default_factory=list)
    skipped: list[SkippedEntity] = field(default_factory=list)

    @property
    def failed(self) -> list[RepositoryReport]:
        return [r for r in self.repositories if r.failed]

    @property
    def exit_code(self) -> int:
        """0 when every repository's pull request was made (or needed nothing), else 1."""
        return 1 if self.failed else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "track_title": self.track_title,
            "level": self.level,
            "checks": self.check_ids,
            "dry_run": self.dry_run,
            "branch": self.branch,
            "repositories": [
                {
                    "repository": r.repository,
                    "action": r.action,
                    "number": r.number,
                    "url": r.url,
                    "files": r.files,
                    "skipped": r.skipped,
                    "notes": r.notes,
                    "error": r.error,
                    "entities": r.entities,
                }
                for r in self.repositories
            ],
            "entities": [
                {
                    "entity": e.entity_ref,
                    "repository": e.repository,
                    "level_before": e.level_before,
                    "level_after": e.level_after,
                    "reaches_target": e.reaches_target,
                    "fixes": [{"check": c, "title": t} for c, t in e.fixes],
                    "unfixed": [
                        {
                            "check": u.check_id,
                            "title": u.title,
                            "reason": u.reason,
                            "remediation": u.remediation,
                        }
                        for u in e.unfixed
                    ],
                }
                for e in self.entities
            ],
            "skipped": [
                {"entity": s.entity_ref, "repository": s.repository, "reason": s.reason}
                for s in self.skipped
            ],
        }


class MissingToken(ConfigError):
    """Pull requests are to be opened but no GitHub token is set."""


def github_client(workspace: Workspace, store: Store, *, dry_run: bool) -> GitHubClient:
    """The client of the workspace's GitHub (`github:` and the environment), waiting for
    and recording rate limits in the store, as every process of the store does.

    The shared limit is given to this client only, rather than made the process's default
    (`share_rate_limit`): a server opens pull requests for one request among many, and
    the next test or workspace of the process may have another store."""
    from scorecard.store.ratelimits import SharedRateLimit

    settings = workspace.github
    token_env = settings.token_env if settings is not None else TOKEN_ENV
    if not dry_run and not os.environ.get(token_env):
        raise MissingToken(
            [
                Problem(
                    token_env,
                    "no GitHub token: set it to a token that may write contents and pull "
                    "requests of the repositories",
                )
            ]
        )
    client = GitHubClient.from_env(settings=settings)
    client.shared_limit = SharedRateLimit(store.engine)
    return client


async def open_fix_prs(
    store: Store,
    tracks: Mapping[str, Track],
    workspace: Workspace,
    *,
    track_id: str,
    level: str | None = None,
    check_ids: Sequence[str] = (),
    entity_refs: Sequence[str] | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    audit_context: Mapping[str, Any] | None = None,
    client: GitHubClient | None = None,
    max_concurrent: int = MAX_CONCURRENT,
) -> FixPullRequestsReport:
    """Plan the fixes of the track's entities from the stored results and open (or
    update) one pull request per repository; a dry run only reads. Unless a dry run,
    the audit log gets one row: who (`actor`), the target, each repository's outcome,
    and `audit_context` (where the request came from: `{"campaign": id}`).

    `entity_refs` are refs as a user gives them. Raises ConfigError for an unknown
    track, level, check or entity, and (not a dry run) a missing GitHub token."""
    target = fix_target(tracks, track_id, level, check_ids)
    refs = stored_refs(store, entity_refs) if entity_refs else None
    branch = workspace.fixes.branch
    own_client = client is None
    client = client or github_client(workspace, store, dry_run=dry_run)
    try:
        stored = await asyncio.to_thread(
            read_plans, store, target, workspace.fixes.values, entity_refs=refs
        )
        grouped = pull_request_plans(
            stored.planned,
            target,
            public_url=workspace.public_url,
            branch=branch,
            web_host=client.web_host,
        )
        outcomes = await open_pull_requests(
            client, grouped.plans, dry_run=dry_run, branch=branch, max_concurrent=max_concurrent
        )
    finally:
        if own_client:
            await client.aclose()
    report = _report(target, dry_run, branch, stored, grouped, outcomes)
    if not dry_run:
        await asyncio.to_thread(
            audit, store, actor, report, entity_refs=refs, context=audit_context
        )
    return report


def open_fix_prs_sync(
    store: Store, tracks: Mapping[str, Track], workspace: Workspace, **options: Any
) -> FixPullRequestsReport:
    """`open_fix_prs` from synchronous code (the CLI, an API route's worker thread)."""
    return asyncio.run(open_fix_prs(store, tracks, workspace, **options))


def _report(
    target: FixTarget,
    dry_run: bool,
    branch: str,
    stored: StoredPlans,
    grouped: RepositoryPlans,
    outcomes: list[PullRequestOutcome],
) -> FixPullRequestsReport:
    report = FixPullRequestsReport(
        target.track.id,
        target.track.title,
        target.level,
        list(target.check_ids),
        dry_run,
        branch,
        skipped=[*stored.skipped, *grouped.skipped],
    )
    refused: dict[str, list[str]] = {}
    for key, edit in grouped.catalog_edits.items():
        name, _, path = key.partition(":")
        refused.setdefault(name, []).extend(
            f"{ref}: its catalog edit of {path} was refused: {why}"
            for ref, why in edit.refused.items()
        )
    reported = set()
    for outcome in outcomes:
        name = outcome.repository
        reported.add(name)
        report.repositories.append(
            RepositoryReport(
                name,
                outcome.action,
                outcome.number,
                outcome.url,
                list(outcome.files),
                list(outcome.skipped),
                [*grouped.notes.get(name, []), *refused.get(name, [])],
                outcome.error,
                grouped.entities.get(name, []),
            )
        )
    # A repository whose fixes are all catalog edits that cannot be placed gets no plan.
    for name, notes in grouped.notes.items():
        if name not in reported:
            report.repositories.append(
                RepositoryReport(
                    name, "nothing to do", None, None, [], [], notes, None, grouped.entities[name]
                )
            )
    report.entities = [
        EntityReport.of(plan, grouped.repository_of.get(entity.ref))
        for entity, plan in stored.planned
    ]
    return report


def audit(
    store: Store,
    actor: str,
    report: FixPullRequestsReport,
    *,
    entity_refs: Sequence[str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> None:
    """One audit row for pull requests made: who, the target, each repository's outcome."""
    change: dict[str, Any] = {
        **(context or {}),
        "level": report.level,
        "checks": report.check_ids,
        "branch": report.branch,
        "repositories": [
            {"repository": r.repository, "action": r.action, "number": r.number}
            for r in report.repositories
        ],
    }
    if entity_refs is not None:
        change["entities"] = list(entity_refs)
    store.audit(actor, AUDIT_ACTION, "track", report.track_id, change)
