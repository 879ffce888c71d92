"""`Service`: everything `scorecard serve` runs, wired together and started in order."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from scorecard.auth import Principal, TokenSet
from scorecard.metrics import Metrics
from scorecard.notify.dispatcher import Dispatcher
from scorecard.service.campaigns import CampaignWatch
from scorecard.service.config import LiveConfig, LoadedConfig
from scorecard.service.exemptions import ExemptionDesk
from scorecard.service.pushed import PushDesk
from scorecard.service.runs import RunCoordinator
from scorecard.service.scheduler import TrackScheduler
from scorecard.store import Store, sessions
from scorecard.workspace import Workspace

log = logging.getLogger("scorecard.service")


@dataclass
class Service:
    workspace: Workspace
    store: Store
    config: LiveConfig
    runs: RunCoordinator
    scheduler: TrackScheduler | None
    metrics: Metrics
    exemptions: ExemptionDesk
    tokens: TokenSet
    # Sends notifications; None when the workspace routes none.
    dispatcher: Dispatcher | None = None
    # Records campaign progress.
    campaigns: CampaignWatch | None = None
    # Takes results pushed for external checks.
    pushed: PushDesk | None = None

    @classmethod
    def create(cls, workspace: Workspace, *, schedule: bool = True) -> Service:
        """Open the store (upgrading its schema unless the workspace turns that off) and
        load the configuration; raises ConfigError if it is invalid, SchemaVersionError if
        the database cannot be used as it is."""
        store = Store(workspace.database, upgrade=workspace.auto_upgrade)
        holder: list[TrackScheduler] = []
        desks: list[ExemptionDesk] = []
        push_desks: list[PushDesk] = []
        watches: list[CampaignWatch] = []
        dispatchers: list[Dispatcher] = []

        def on_reload(loaded: LoadedConfig) -> None:
            for scheduler in holder:
                scheduler.sync(loaded.tracks)
            for desk in desks:
                desk.sync_files(loaded.exemptions)
            # A `max_age` may have changed, or an external check appeared.
            for push_desk in push_desks:
                push_desk.reschedule()
            # Campaigns added or changed, tracks changed: their progress is measured anew.
            for watch in watches:
                watch.record(loaded)
            for dispatcher in dispatchers:
                dispatcher.wake()

        try:
            config = LiveConfig(workspace, on_change=on_reload)
        except BaseException:
            store.close()
            raise
        metrics = Metrics(store)
        runs = RunCoordinator(config, store, metrics)
        watch = CampaignWatch(store, config)
        desk = ExemptionDesk(store, config, on_change=runs.stored_changed)
        desks.append(desk)
        push_desk = PushDesk(store, config, on_change=runs.stored_changed)
        push_desk.on_change_hooks.append(watch.record)
        push_desks.append(push_desk)
        # Campaign progress follows every change of stored levels; the dispatcher, when
        # there is one, then looks at once at the events recording wrote.
        runs.on_finished.append(watch.record)
        desk.on_change_hooks.append(watch.record)
        scheduler = None
        if schedule:
            scheduler = TrackScheduler(
                runs,
                store.engine,
                poll=lambda: _poll(config, store),
                poll_interval=workspace.reload_interval,
            )
            holder.append(scheduler)
            desk.on_next_instant = lambda when: scheduler.expire_at(when, desk.expire_due)
            push_desk.on_next_instant = lambda when: scheduler.expire_at(
                when,
                push_desk.age_out,
                job="pushed-max-age",
                what="acting on pushed results past their max_age",
            )
        tokens = TokenSet(workspace.api_tokens())
        dispatcher = None
        if workspace.notifications.rules:
            store.notify = True
            dispatcher = dispatcher_for(workspace, store, config, watch)
            runs.on_finished.append(dispatcher.wake)
            desk.on_change_hooks.append(dispatcher.wake)
            push_desk.on_change_hooks.append(dispatcher.wake)
            dispatchers.append(dispatcher)
        watches.append(watch)
        return cls(
            workspace, store, config, runs, scheduler, metrics, desk, tokens, dispatcher, watch,
            push_desk,
        )  # fmt: skip

    def start(self, *, evaluate_if_empty: bool = True) -> None:
        # Sign-in sessions of tokens this server no longer accepts are deleted, so that
        # going back to an old token does not bring its sessions back.
        sessions.prune(self.store.engine, self.token_fingerprints, datetime.now(UTC))
        # The exemption files as loaded, then what expired while no server ran.
        self.exemptions.sync_files(self.config.current.exemptions)
        self.exemptions.expire_due()
        if self.pushed is not None:  # results that passed their max_age while no server ran
            self.pushed.age_out()
        # Campaign progress as the store has it now (a `scorecard run` may have changed it
        # while no server ran), and the events it calls for, sent once the dispatcher starts.
        if self.campaigns is not None:
            self.campaigns.record()
        # The first run is claimed before the scheduler starts, so a missed scheduled fire
        # cannot take a track first and make it conflict.
        if evaluate_if_empty and self.store.is_empty():
            log.info("the store is empty: evaluating every track once")
            self.runs.trigger(None, trigger="startup")
        if self.scheduler is not None:
            self.scheduler.start()
            self.scheduler.expire_at(self.store.next_expiry(), self.exemptions.expire_due)
            if self.pushed is not None:
                self.pushed.reschedule()
        if self.dispatcher is not None:
            self.dispatcher.start()  # resumes what an earlier process did not send

    @functools.cached_property
    def token_fingerprints(self) -> dict[str, Principal]:
        """Each accepted token's fingerprint (what sign-in sessions keep), and whose it is."""
        return {
            sessions.token_fingerprint(token.value): token.principal for token in self.tokens.tokens
        }

    def stop(self, grace: float = 30.0) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        unfinished = self.runs.shutdown(grace)
        if unfinished:
            # Their results are written in one transaction with the `finished` status, so
            # none is half-written; once their liveness marks are stale, the next process
            # to open the store marks them abandoned.
            log.warning("stopping with runs %s unfinished; they will show as abandoned", unfinished)
        self.store.close()


def dispatcher_for(
    workspace: Workspace,
    store: Store,
    config: LiveConfig,
    campaigns: CampaignWatch | None = None,
) -> Dispatcher:
    """The dispatcher of the workspace's notifications, reading the live configuration;
    once a minute it looks for the campaign events that time brings."""
    watch = campaigns or CampaignWatch(store, config)
    return Dispatcher(
        store,
        config=lambda: workspace.notifications,
        tracks=lambda: {track.id: track for track in config.current.tracks},
        public_url=workspace.public_url,
        campaign_titles=watch.titles,
        periodic=watch.periodic,
    )


def _poll(config: LiveConfig, store: Store) -> None:
    """The server's periodic housekeeping: reload a changed configuration, and mark runs
    abandoned whose process died while this one was serving (e.g. a killed
    `scorecard run`), which opening the store at start could not see."""
    config.reload_if_changed()
    for run_id in store.abandon_stale():
        log.warning("run %d was abandoned: the process running it stopped", run_id)
