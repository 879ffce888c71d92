"""`scorecard fix` in a repository: evaluate its catalog file's entities, render the fixes
of the checks that keep them below a level, show the change, and write it with `--apply`.

Nothing is written unless asked, and then nothing is overwritten: a file a fix would create
that already exists is left alone and reported, and catalog-info.yaml is edited in place
(only the changed lines differ) and replaced atomically, unless it changed meanwhile.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scorecard.entity import Entity
from scorecard.fixes.catalog_edit import CatalogEditError, edit_catalog_text
from scorecard.fixes.model import CatalogChange, FileChange
from scorecard.fixes.plan import HOLDS, EntityFixPlan, fix_target, plan_entity
from scorecard.gate.local import (
    find_catalog_file,
    gated_entities,
    load_all_tracks,
    load_waivers,
    verdicts_of,
)
from scorecard.gate.model import Requirement, TrackVerdict
from scorecard.inputs import InputUnavailable, repository_root
from scorecard.problems import ConfigError, Problem
from scorecard.sources.roots import AllowedRoots
from scorecard.tracks import Track
from scorecard.workspace import Workspace


@dataclass(frozen=True)
class PlannedFile:
    path: Path  # where it is written
    shown: str  # the path as the diff names it, relative to the repository
    content: str
    entity_ref: str
    check_id: str


@dataclass(frozen=True)
class LeftAlone:
    """A file a fix would create that exists already, or a change that cannot be made."""

    shown: str
    entity_ref: str
    check_id: str
    reason: str


@dataclass(frozen=True)
class CatalogFileEdit:
    path: Path
    shown: str
    before: str
    after: str


@dataclass
class LocalFixes:
    repo: Path
    track: Track
    target_level: str | None
    check_ids: tuple[str, ...]
    plans: list[EntityFixPlan]
    new_files: list[PlannedFile] = field(default_factory=list)
    catalog_edits: list[CatalogFileEdit] = field(default_factory=list)
    left_alone: list[LeftAlone] = field(default_factory=list)
    applied: bool = False
    # After --apply: the entities evaluated again, on the changed working tree.
    after: list[TrackVerdict] | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.new_files or self.catalog_edits)

    def levels_after(self) -> dict[str, str | None]:
        """Each entity's level once the changes are made: evaluated after --apply,
        predicted (fixed checks counted as passing) before."""
        if self.after is not None:
            return {v.entity_ref: v.reached_level for v in self.after}
        return {p.entity_ref: p.level_after for p in self.plans}

    @property
    def met(self) -> bool:
        """Every entity reaches the level (or passes the named checks) after the change."""
        if self.after is not None:
            if self.target_level is not None:
                return all(v.met for v in self.after)
            wanted = set(self.check_ids)
            return all(
                c.outcome in HOLDS or c.exemption is not None
                for v in self.after
                for c in v.checks
                if c.id in wanted
            )
        return all(p.reaches_target for p in self.plans) and not self.left_alone

    @property
    def exit_code(self) -> int:
        return 0 if self.met else 1

    def diff(self) -> str:
        """A unified diff of every change, as `git diff` shows it."""
        chunks = []
        for edit in self.catalog_edits:
            chunks += difflib.unified_diff(
                edit.before.splitlines(keepends=True),
                edit.after.splitlines(keepends=True),
                f"a/{edit.shown}",
                f"b/{edit.shown}",
            )
        for new in self.new_files:
            chunks += difflib.unified_diff(
                [], new.content.splitlines(keepends=True), "/dev/null", f"b/{new.shown}"
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def plan_local_fixes(
    workspace: Workspace,
    repo: Path,
    catalog: Path | None,
    track_id: str,
    *,
    level: str | None = None,
    check_ids: Sequence[str] = (),
) -> LocalFixes:
    """Evaluate the repository's entities on `track_id` and plan the fixes of the checks
    that keep them below `level` (or of the named checks). Nothing is written."""
    if (level is None) == (not check_ids):
        raise ConfigError(
            [Problem("--level", "give --level L (fix up to a level) or --check C, not both")]
        )
    track, requirement = _requirement(workspace, track_id, level, check_ids)
    waivers = load_waivers(workspace, [track])
    catalog_file = find_catalog_file(repo, catalog)
    verdicts = verdicts_of(
        workspace, catalog_file, [requirement], {track.id: track}, False, waivers
    )
    entities = {e.ref: e for e in gated_entities(catalog_file)}
    values = workspace.fixes.values
    plans = []
    for verdict in verdicts:
        outcomes = {c.id: c.outcome for c in verdict.checks}
        waived = {c.id for c in verdict.checks if c.exemption is not None}
        plans.append(
            plan_entity(
                entities[verdict.entity_ref],
                track,
                outcomes,
                values,
                level=level,
                check_ids=check_ids,
                waived=waived,
            )
        )
    fixes = LocalFixes(repo, track, level, tuple(check_ids), plans)
    _lay_out(fixes, entities, AllowedRoots(workspace.local_roots))
    return fixes


def _requirement(
    workspace: Workspace, track_id: str, level: str | None, check_ids: Sequence[str]
) -> tuple[Track, Requirement]:
    """The track, and what to evaluate it for: the level, or (named checks) its top one.
    A draft track may be fixed too: fixing ahead of a rollout is what drafts are for."""
    target = fix_target(
        load_all_tracks(workspace),
        track_id,
        level,
        check_ids,
        keys=("--track", "--level", "--check"),
    )
    return target.track, Requirement(track_id, level or target.levels[-1])


def _lay_out(fixes: LocalFixes, entities: dict[str, Entity], roots: AllowedRoots) -> None:
    """Place each rendered file in its entity's repository and each catalog edit in its
    entity's file; what exists already, or cannot be placed, is left alone."""
    repo = fixes.repo.resolve()
    planned: dict[Path, PlannedFile] = {}
    catalog_changes: dict[Path, list[tuple[Entity, CatalogChange]]] = {}
    for plan in fixes.plans:
        entity = entities[plan.entity_ref]
        files = [(fix.check_id, new) for fix in plan.fixes for new in fix.files]
        if files:
            _place_files(fixes, entity, files, roots, repo, planned)
        if entity.catalog_file is not None:
            changes = catalog_changes.setdefault(entity.catalog_file, [])
            changes += [(entity, fix.catalog) for fix in plan.fixes if fix.catalog is not None]
    fixes.new_files = sorted(planned.values(), key=lambda f: f.shown)
    for path, changes in catalog_changes.items():
        if changes:
            _edit_catalog(fixes, path, changes, repo)


def _place_files(
    fixes: LocalFixes,
    entity: Entity,
    files: list[tuple[str, FileChange]],
    roots: AllowedRoots,
    repo: Path,
    planned: dict[Path, PlannedFile],
) -> None:
    """Plan an entity's new files (check id, file) in its repository, as its checks read
    it; two entities of one repository asking for one path get the first one's file."""
    try:
        root = repository_root(entity, roots)
    except InputUnavailable as error:
        reason = str(error)
        fixes.left_alone += [LeftAlone(new.path, entity.ref, cid, reason) for cid, new in files]
        return
    for check_id, new in files:
        target = root / new.path
        if target in planned:
            continue
        shown = _shown(target, repo)
        reason = _why_not_writable(target, root)
        if reason is not None:
            fixes.left_alone.append(LeftAlone(shown, entity.ref, check_id, reason))
        else:
            planned[target] = PlannedFile(target, shown, new.content, entity.ref, check_id)


def _edit_catalog(
    fixes: LocalFixes, path: Path, changes: list[tuple[Entity, CatalogChange]], repo: Path
) -> None:
    shown = _shown(path, repo)
    with open(path, encoding="utf-8", newline="") as handle:  # keep CRLF as it is
        before = handle.read()
    text = before
    for entity, change in changes:
        try:
            text = edit_catalog_text(
                text, (entity.kind, entity.namespace, entity.name), change, source=shown
            )
        except CatalogEditError as error:
            fixes.left_alone.append(LeftAlone(shown, entity.ref, "catalog", str(error)))
    if text != before:
        fixes.catalog_edits.append(CatalogFileEdit(path, shown, before, text))


def _shown(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo).as_posix()
    except ValueError:
        return str(path)


def _why_not_writable(target: Path, root: Path) -> str | None:
    """None when a new file may be written at `target`; else why not. An existing file is
    never overwritten, and nothing is written through a link out of the repository."""
    if os.path.lexists(target):
        return "exists already; scorecard never overwrites a file"
    existing = target.parent
    while not existing.exists():
        if existing.is_symlink():  # a dangling link: it would be created elsewhere
            return "its folder is a broken link; scorecard does not write through it"
        existing = existing.parent
    try:
        existing.resolve().relative_to(root.resolve())
    except ValueError:
        return "its folder links out of the repository; scorecard does not write there"
    if not existing.is_dir():
        return f"{existing.name} is a file, not a folder"
    return None


def apply_local_fixes(fixes: LocalFixes, workspace: Workspace, catalog: Path | None) -> None:
    """Write the planned files and catalog edits, then evaluate the entities again."""
    for new in fixes.new_files:
        _create(new.path, new.content)
    for edit in fixes.catalog_edits:
        _replace(edit)
    fixes.applied = True
    if fixes.has_changes:
        track = fixes.track
        level = fixes.target_level or track.levels[-1].id
        waivers = load_waivers(workspace, [track])
        fixes.after = verdicts_of(
            workspace,
            find_catalog_file(fixes.repo, catalog),
            [Requirement(track.id, level)],
            {track.id: track},
            False,
            waivers,
        )


def _create(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: should the file have appeared since the plan, it is still not overwritten.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)


def _replace(edit: CatalogFileEdit) -> None:
    with open(edit.path, encoding="utf-8", newline="") as handle:
        if handle.read() != edit.before:
            raise ConfigError(
                [Problem(edit.shown, "changed while scorecard was planning; run it again")]
            )
    mode = edit.path.stat().st_mode
    descriptor, scratch = tempfile.mkstemp(dir=edit.path.parent, prefix=".scorecard-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(edit.after)
        os.chmod(scratch, mode & 0o7777)
        os.replace(scratch, edit.path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
