"""Local gating: evaluate the entities a repository describes, on its working tree or on
another git ref, without a server or a database."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from scorecard.catalog import read_catalog, read_sources
from scorecard.entity import Entity
from scorecard.gate.model import (
    CheckChange,
    CheckVerdict,
    GateReport,
    Requirement,
    TrackVerdict,
    leave_out_drafts,
)
from scorecard.problems import ConfigError, Problem
from scorecard.registry import build_registry
from scorecard.report import RunReport
from scorecard.runner import evaluate
from scorecard.tracks import Track, load_tracks
from scorecard.waivers import Waiver, Waivers
from scorecard.workspace import Workspace

CATALOG_NAMES = ("catalog-info.yaml", "catalog-info.yml")


def find_catalog_file(repo: Path, catalog: Path | None) -> Path:
    """`--catalog` (relative to the repository), else its catalog-info.yaml; exit 2 if none."""
    if catalog is not None:
        path = catalog if catalog.is_absolute() else repo / catalog
        if not path.is_file():
            raise ConfigError([Problem(str(path), "catalog file not found")])
        return path
    for name in CATALOG_NAMES:
        if (repo / name).is_file():
            return repo / name
    raise ConfigError(
        [Problem(str(repo), "no catalog file found (catalog-info.yaml); name one with --catalog")]
    )


def gated_entities(catalog_file: Path) -> list[Entity]:
    """The entities a repository's catalog file describes; an invalid file is exit 2."""
    listing = read_catalog([catalog_file])
    if listing.problems:
        raise ConfigError(listing.problems)
    entities = [e for e in listing.entities if e.kind.lower() != "location"]
    if not entities:
        raise ConfigError([Problem(str(catalog_file), "describes no entity to gate")])
    return entities


def load_requirements(
    workspace: Workspace, requirements: Sequence[Requirement]
) -> dict[str, Track]:
    """The tracks the requirements name, checked: unknown tracks and levels, and drafts,
    are exit 2."""
    tracks = load_all_tracks(workspace)
    leave_out_drafts(requirements, _drafts(tracks), skip=False, where="--track")
    return _required_tracks(tracks, requirements)


def _drafts(tracks: dict[str, Track]) -> set[str]:
    return {track.id for track in tracks.values() if track.draft}


def load_all_tracks(workspace: Workspace) -> dict[str, Track]:
    return {t.id: t for t in load_tracks(workspace.tracks, build_registry(workspace.checks))}


def _required_tracks(
    tracks: dict[str, Track], requirements: Sequence[Requirement]
) -> dict[str, Track]:
    problems = []
    for requirement in requirements:
        track = tracks.get(requirement.track_id)
        if track is None:
            known = ", ".join(sorted(tracks))
            problems.append(
                Problem("--track", f"unknown track {requirement.track_id!r}; known: {known}")
            )
        elif requirement.level not in [level.id for level in track.levels]:
            levels = ", ".join(level.id for level in track.levels)
            problems.append(
                Problem(
                    "--require",
                    f"track {track.id} has no level {requirement.level!r}; its levels: {levels}",
                )
            )
    if problems:
        raise ConfigError(problems)
    return {r.track_id: tracks[r.track_id] for r in requirements}


def load_waivers(
    workspace: Workspace, tracks: Sequence[Track], now: datetime | None = None
) -> Waivers:
    """The exemptions in effect that the workspace's exemption files define (an invalid
    file is exit 2, as the server would refuse it; one that has expired is no problem, it
    simply waives nothing any more)."""
    if not workspace.exemption_files:
        return Waivers()
    from scorecard.program.exemptions import load_exemptions

    now = now or datetime.now(UTC)
    specs = load_exemptions(
        workspace.exemption_files,
        list(tracks),
        workspace.exemption_max_days,
        now,
        allow_expired=True,
    )
    return Waivers(
        Waiver(
            exemption_id=None,
            entity_ref=spec.entity_ref,
            track_id=spec.track_id,
            check_id=spec.check_id,
            justification=spec.justification,
            expires_at=spec.expires_at,
            approved_by=f"file:{spec.source}",
            source=spec.source,
        )
        for spec in specs
        if spec.expires_at > now
    )


def gate_locally(
    workspace: Workspace,
    repo: Path,
    catalog: Path | None,
    requirements: Sequence[Requirement],
    *,
    allow_errors: bool = False,
    baseline_ref: str | None = None,
    skip_drafts: bool = False,
) -> GateReport:
    """Evaluate and judge. A requirement on a draft track is refused (exit 2), or with
    `skip_drafts` (the workspace's `gate:` section) left out and named in the report."""
    every_track = load_all_tracks(workspace)
    requirements, left_out = leave_out_drafts(
        requirements, _drafts(every_track), skip=skip_drafts, where="--track"
    )
    tracks = _required_tracks(every_track, requirements)
    waivers = load_waivers(workspace, list(every_track.values()))
    catalog_file = find_catalog_file(repo, catalog)
    verdicts = verdicts_of(workspace, catalog_file, requirements, tracks, allow_errors, waivers)
    if baseline_ref is not None:
        relative = catalog_file.resolve().relative_to(repo.resolve())
        with checkout(repo, baseline_ref) as tree:
            before = verdicts_of(
                workspace, tree / relative, requirements, tracks, allow_errors, waivers
            )
        compare(verdicts, before)
    return GateReport(verdicts, mode="local", baseline=baseline_ref, drafts_left_out=left_out)


def verdicts_of(
    workspace: Workspace,
    catalog_file: Path,
    requirements: Sequence[Requirement],
    tracks: dict[str, Track],
    allow_errors: bool,
    waivers: Waivers | None = None,
) -> list[TrackVerdict]:
    """Evaluate the entities of a catalog file on the required tracks (`scorecard fix`
    uses it too)."""
    subjects = gated_entities(catalog_file)
    # Checks that look other entities up (an owner group) see the workspace's catalog too.
    context = (
        []
        if workspace.is_demo
        else read_sources(workspace.catalog, local_roots=workspace.local_roots).entities
    )
    refs = {e.ref for e in subjects}
    everyone = subjects + [e for e in context if e.ref not in refs]
    report = evaluate(
        everyone,
        list(tracks.values()),
        only=refs,
        timeout=workspace.check_timeout,
        waivers=waivers,
    )
    verdicts = []
    for requirement in requirements:
        track = tracks[requirement.track_id]
        found = [c for c in report.certifications if c.track_id == track.id]
        if not found:
            raise ConfigError(
                [Problem(str(catalog_file), f"track {track.id} applies to none of its entities")]
            )
        verdicts += [
            verdict(
                report,
                track,
                cert.entity_ref,
                cert.level,
                requirement.level,
                allow_errors,
                waivers,
            )
            for cert in found
        ]
    return verdicts


def verdict(
    report: RunReport,
    track: Track,
    entity_ref: str,
    level: str | None,
    required: str,
    allow_errors: bool,
    waivers: Waivers | None = None,
) -> TrackVerdict:
    results = {
        r.check_id: r.result
        for pair in report.pairs
        if pair.entity_ref == entity_ref and pair.track_id == track.id
        for r in pair.results()
    }
    waived = waivers.for_pair(entity_ref, track.id) if waivers else {}
    checks = []
    for configured in track.checks:
        result = results.get(configured.id)
        checks.append(
            CheckVerdict(
                id=configured.id,
                title=configured.title,
                level_id=configured.level_id,
                required=configured.required,
                outcome=result.outcome if result else None,
                message=result.message if result else "not evaluated",
                remediation=configured.remediation,
                exemption=waived.get(configured.id),
            )
        )
    return TrackVerdict(
        entity_ref=entity_ref,
        track_id=track.id,
        track_title=track.title,
        levels=[lvl.id for lvl in track.levels],
        required_level=required,
        reached_level=level,
        checks=checks,
        allow_errors=allow_errors,
    )


def compare(verdicts: list[TrackVerdict], baseline: list[TrackVerdict]) -> None:
    """Record in each verdict its baseline level and the checks whose outcome changed."""
    before = {(v.entity_ref, v.track_id): v for v in baseline}
    for current in verdicts:
        old = before.get((current.entity_ref, current.track_id))
        current.has_baseline = True
        current.baseline_level = old.reached_level if old else None
        old_checks = {c.id: c for c in old.checks} if old else {}
        new_checks = {c.id: c for c in current.checks}
        current.changes = []
        for check_id in dict.fromkeys([*new_checks, *old_checks]):
            was = old_checks[check_id].outcome if check_id in old_checks else None
            now = new_checks[check_id].outcome if check_id in new_checks else None
            if was != now:
                title = (new_checks.get(check_id) or old_checks[check_id]).title
                current.changes.append(CheckChange(check_id, title, was, now))


@contextlib.contextmanager
def checkout(repo: Path, ref: str) -> Iterator[Path]:
    """A detached worktree of `ref` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="scorecard-baseline-") as scratch:
        tree = Path(scratch) / "tree"
        try:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet", str(tree), ref],
                check=True,
                capture_output=True,
                text=True,
            )
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            raise ConfigError(
                [Problem(str(repo), f"cannot check out {ref!r} for the baseline: {detail.strip()}")]
            ) from None
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
            )
