"""A campaign's fixes on its page: per entity not at the goal, the golden-path change that
would move it there (`scorecard.fixes`), and an admin's buttons that preview or open the
pull requests of all of them, one per GitHub repository.

Plans are read from the stored results, for the page of entities shown (50 at a time),
never for the whole campaign on a page view. The pull requests cover every entity of the
campaign not at the goal, whatever page the button was pressed on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ServiceDep
from api.pages.signin import read_form, same_origin, signed_in
from api.pages.templating import render
from scorecard.auth import Principal, Role
from scorecard.fixes.model import CatalogChange, RenderedFix
from scorecard.fixes.plan import EntityFixPlan
from scorecard.problems import ConfigError
from scorecard.program.campaigns import Campaign
from scorecard.program.progress import goal_words
from scorecard.service.service import Service
from scorecard.tracks import Track

if TYPE_CHECKING:
    from scorecard.fixes.remote import RepositoryReport

router = APIRouter(include_in_schema=False)

# What the page shows of a file a fix would create: enough to judge it (a licence is
# 11 kB, and a page lists 50 entities, each with a few files).
PREVIEW_CHARS = 1500
MODES = {"preview": True, "open": False}  # the button pressed → a dry run?


@dataclass(frozen=True, slots=True)
class FilePreview:
    """A file a fix would create: its path, and the start of its content."""

    path: str
    lines: int
    text: str
    cut: int  # characters left out of `text`


@dataclass(frozen=True, slots=True)
class FixView:
    """One check's automatic fix for one entity, as the page lists it."""

    check_id: str
    check_title: str
    title: str
    files: list[FilePreview]
    catalog: list[tuple[str, str]]  # (what is set, to what), in catalog-info.yaml


@dataclass(frozen=True, slots=True)
class EntityFixes:
    """What would move one entity to the goal: its fixes, what is left by hand, and the
    level it would reach (`plan` is None when its stored results plan nothing)."""

    plan: EntityFixPlan | None
    fixes: list[FixView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CampaignFixes:
    """The fixes of a page of a campaign's entities, by entity ref."""

    entities: dict[str, EntityFixes] = field(default_factory=dict)
    error: str | None = None  # why nothing could be planned

    @property
    def automatic(self) -> int:
        return sum(len(e.fixes) for e in self.entities.values())

    @property
    def by_hand(self) -> int:
        return sum(len(e.plan.unfixed) for e in self.entities.values() if e.plan is not None)

    @property
    def reaching(self) -> int:
        """Entities the automatic fixes alone would bring to the goal."""
        return sum(
            1 for e in self.entities.values() if e.plan is not None and e.plan.reaches_target
        )


def page_fixes(
    service: Service, campaign: Campaign, track: Track, entity_refs: list[str]
) -> CampaignFixes:
    """The fixes that would bring these entities (stored refs, those of the page shown) to
    the campaign's goal, planned from their latest stored results."""
    if not entity_refs:
        return CampaignFixes()
    # Imported here: the server pays for the fixes' templates and editors only once asked.
    from scorecard.fixes.remote import plans_from_store

    try:
        planned = plans_from_store(
            service.store,
            service.config.current.tracks_by_id,
            service.workspace.fixes.values,
            track_id=track.id,
            level=campaign.level,
            check_ids=campaign.checks,
            entity_refs=entity_refs,
        )
    except ConfigError as error:
        return CampaignFixes(error="; ".join(p.message for p in error.problems))
    found = {ref: EntityFixes(None) for ref in entity_refs}
    for entity, plan in planned:
        found[entity.ref] = EntityFixes(plan, [_fix_view(fix) for fix in plan.fixes])
    return CampaignFixes(found)


def _fix_view(fix: RenderedFix) -> FixView:
    files = [
        FilePreview(
            change.path,
            len(change.content.splitlines()),
            change.content[:PREVIEW_CHARS],
            max(0, len(change.content) - PREVIEW_CHARS),
        )
        for change in fix.files
    ]
    return FixView(fix.check_id, fix.check_title, fix.title, files, catalog_lines(fix.catalog))


def catalog_lines(change: CatalogChange | None) -> list[tuple[str, str]]:
    """A catalog edit as what it sets: `annotation pagerduty.com/service-id` → `PX1`."""
    if change is None:
        return []
    lines = [(f"annotation {key}", value) for key, value in change.annotations.items()]
    lines += [(f"label {key}", value) for key, value in change.labels.items()]
    lines += [("tag", tag) for tag in change.tags]
    lines += [(path, str(value)) for path, value in change.fields.items()]
    return lines


# --- the admin's buttons ------------------------------------------------------------------


@router.post("/campaigns/{campaign_id}/fixes", response_class=HTMLResponse)
async def campaign_pull_requests(
    request: Request, service: ServiceDep, campaign_id: str
) -> Response:
    """An admin's "Preview pull requests" (a dry run: GitHub is only read) or "Open pull
    requests": the fixes of every entity of the campaign not at the goal, one pull request
    per repository, and what came of each. Opening them leaves one row in the audit log."""
    page = f"/campaigns/{quote(campaign_id, safe='')}"
    form = await read_form(request)
    visitor = await run_in_threadpool(signed_in, request, service)
    if visitor is None or not same_origin(request):
        return RedirectResponse(f"/signin?next={quote(page, safe='/')}", status_code=303)
    if not visitor.may(Role.ADMIN):
        return _refused(request, visitor)
    config = service.config.current
    campaign = config.campaign(campaign_id)
    track = config.track(campaign.track_id) if campaign is not None else None
    if campaign is None or track is None:
        known = ", ".join(c.id for c in config.campaigns) or "none"
        return render(
            request,
            "not_found.html",
            what=f"There is no campaign “{campaign_id}”.",
            hint=f"The campaigns are: {known}.",
            status_code=404,
        )
    mode = form.get("mode", "")
    if mode not in MODES:
        return _not_done(request, page, "Choose “Preview pull requests” or “Open pull requests”.")
    dry_run = MODES[mode]
    refs = await run_in_threadpool(_behind, service, campaign, track)
    if not refs:
        return _not_done(
            request, page, "Every entity in scope is at the goal: there is nothing to fix.", 200
        )
    from scorecard.fixes.remote import open_fix_prs_sync

    try:
        # In a worker thread, as the API's route does: the plans are read from the store
        # entity by entity, which would hold the server's event loop.
        report = await run_in_threadpool(
            partial(
                open_fix_prs_sync,
                service.store,
                config.tracks_by_id,
                service.workspace,
                track_id=track.id,
                level=campaign.level,
                check_ids=campaign.checks,
                entity_refs=refs,
                dry_run=dry_run,
                actor=visitor.name,
                audit_context={"campaign": campaign.id, "via": "campaign page"},
            )
        )
    except ConfigError as error:
        return _not_done(
            request, page, "; ".join(f"{p.file}: {p.message}" for p in error.problems), 422
        )
    return render(
        request,
        "campaign_fixes.html",
        campaign=campaign,
        track=track,
        goal=goal_words(campaign, track),
        report=report,
        entities=len(refs),
        counts=_counts(report.repositories),
    )


def _behind(service: Service, campaign: Campaign, track: Track) -> list[str]:
    """The stored refs of the campaign's entities not at the goal, measured now."""
    progress = service.store.measure_campaigns([campaign], {track.id: track}).get(campaign.id)
    if progress is None:
        return []
    return [s.entity_ref for s in progress.standings if not s.at_goal]


def _counts(repositories: list[RepositoryReport]) -> dict[str, int]:
    """How many repositories came to each outcome (`opened`, `would update`, `failed`)."""
    counted: dict[str, int] = {}
    for repository in repositories:
        counted[repository.action] = counted.get(repository.action, 0) + 1
    return counted


def _refused(request: Request, visitor: Principal) -> Response:
    return render(
        request,
        "not_found.html",
        heading="Forbidden",
        what=f"You are signed in as {visitor.name} ({visitor.role}), which may not open pull "
        "requests: an admin token may. Nothing was changed.",
        hint="Sign out and sign in again with another token to do this.",
        status_code=403,
    )


def _not_done(request: Request, page: str, why: str, status_code: int = 422) -> Response:
    return render(
        request,
        "not_found.html",
        heading="No pull request was opened",
        what=why,
        hint="Nothing was changed.",
        back=page,
        status_code=status_code,
    )
