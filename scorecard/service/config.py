"""The live configuration of a server: the check registry, the tracks, and the exemptions
and campaigns kept as code, reloadable.

A reload that fails keeps serving the last good configuration and reports why, so a bad
commit to the tracks repository never takes the scorecards down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scorecard.distributed.fingerprint import configuration_fingerprint
from scorecard.problems import ConfigError, Problem
from scorecard.program.campaigns import Campaign, campaign_files, load_campaigns
from scorecard.program.exemptions import ExemptionSpec, exemption_files, load_exemptions
from scorecard.registry import CheckRegistry, build_registry
from scorecard.tracks import Track, load_tracks, track_files
from scorecard.workspace import Workspace

log = logging.getLogger("scorecard.config")


@dataclass(frozen=True)
class LoadedConfig:
    registry: CheckRegistry
    tracks: tuple[Track, ...]
    loaded_at: datetime
    # The exemptions kept as code in the workspace's exemption files.
    exemptions: tuple[ExemptionSpec, ...] = ()
    # The campaigns of the workspace's campaign files, over these tracks.
    campaigns: tuple[Campaign, ...] = ()
    # Of the tracks and checks, for a run's shards to be evaluated with the very same
    # (`scorecard.distributed.fingerprint`); made only for the celery executor.
    fingerprint: str = ""

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def campaign(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    @property
    def tracks_by_id(self) -> dict[str, Track]:
        return {track.id: track for track in self.tracks}


@dataclass(frozen=True)
class ReloadOutcome:
    reloaded: bool
    problems: list[Problem] = field(default_factory=list)


class LiveConfig:
    """Holds the current configuration; readers take `current`, a consistent snapshot."""

    def __init__(
        self, workspace: Workspace, on_change: Callable[[LoadedConfig], None] | None = None
    ) -> None:
        self.workspace = workspace
        self._on_change = on_change
        self._lock = threading.Lock()
        self.current = self._load()  # raises ConfigError: a server needs a first good config
        self.last_problems: list[Problem] = []
        self._fingerprint = self._files_fingerprint()

    def _load(self) -> LoadedConfig:
        fingerprint = ""
        if self.workspace.executor.distributed:
            # Of the files as they are before they are read: a change meanwhile makes
            # the next reload, and the fingerprint then describes it.
            fingerprint = configuration_fingerprint(self.workspace)
        registry = build_registry(self.workspace.checks)
        tracks = load_tracks(self.workspace.tracks, registry)
        now = datetime.now(UTC)
        # Both kinds of files are read, so that one pass reports every problem of both.
        problems: list[Problem] = []
        exemptions: list[ExemptionSpec] = []
        campaigns: list[Campaign] = []
        try:
            exemptions = load_exemptions(
                self.workspace.exemption_files,
                tracks,
                self.workspace.exemption_max_days,
                now,
                allow_expired=True,  # an exemption that ran out expires; it breaks no reload
            )
        except ConfigError as error:
            problems.extend(error.problems)
        try:
            campaigns = load_campaigns(self.workspace.campaign_files, tracks)
        except ConfigError as error:
            problems.extend(error.problems)
        if problems:
            raise ConfigError(problems)
        return LoadedConfig(
            registry, tuple(tracks), now, tuple(exemptions), tuple(campaigns), fingerprint
        )

    def reload(self) -> ReloadOutcome:
        """Load tracks, checks, exemption and campaign files again; on problems keep the
        configuration in use."""
        with self._lock:
            fingerprint = self._files_fingerprint()
            try:
                loaded = self._load()
            except ConfigError as error:
                self.last_problems = error.problems
                self._fingerprint = fingerprint
                for problem in error.problems:
                    log.error("reload rejected: %s", problem)
                log.error("still serving the configuration loaded at %s", self.current.loaded_at)
                return ReloadOutcome(False, error.problems)
            self.current = loaded
            self.last_problems = []
            self._fingerprint = fingerprint
            log.info("reloaded %d tracks and %d checks", len(loaded.tracks), len(loaded.registry))
            # Under the lock, so that two reloads racing reach `on_change` in order.
            if self._on_change is not None:
                try:
                    self._on_change(loaded)
                except Exception:
                    log.exception("applying the reloaded configuration failed")
        return ReloadOutcome(True)

    def reload_if_changed(self) -> ReloadOutcome | None:
        """Reload when a track file, a check module, an exemption or a campaign file was
        added, removed or modified."""
        if self._files_fingerprint() == self._fingerprint:
            return None
        return self.reload()

    def _files_fingerprint(self) -> frozenset[tuple[str, int, int]]:
        files: list[Path] = track_files(p for p in self.workspace.tracks if p.exists())
        files += [
            f for folder in self.workspace.checks if folder.is_dir() for f in folder.glob("*.py")
        ]
        files += exemption_files(p for p in self.workspace.exemption_files if p.exists())
        files += campaign_files(p for p in self.workspace.campaign_files if p.exists())
        return frozenset(_stat(f) for f in files)


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def select_tracks(tracks: Iterable[Track], wanted: Iterable[str] | None) -> list[Track]:
    """The tracks named in `wanted` (all when None); KeyError names the unknown ones."""
    tracks = list(tracks)
    if wanted is None:
        return tracks
    wanted = list(dict.fromkeys(wanted))
    by_id = {t.id: t for t in tracks}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise KeyError(", ".join(missing))
    return [by_id[w] for w in wanted]
