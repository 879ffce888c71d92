"""Campaigns in a server: their progress recorded whenever what it is measured from may
have changed (at start, after a run, an exemption change or a reload), and the events
that time alone brings (a milestone or deadline passing), looked at once a minute."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from scorecard.service.config import LiveConfig, LoadedConfig
from scorecard.store import Store

log = logging.getLogger("scorecard.campaigns")


class CampaignWatch:
    def __init__(self, store: Store, config: LiveConfig) -> None:
        self.store = store
        self.config = config
        # One recording at a time: two at once would both write the same change.
        self._lock = threading.Lock()

    @property
    def _deadline_within_days(self) -> int:
        return self.config.workspace.notifications.deadline_within_days

    def record(self, loaded: LoadedConfig | None = None, now: datetime | None = None) -> None:
        """Record every campaign's progress as it is now (and, when notifications are
        routed, write the events it calls for). A failure is logged: it must not fail
        the run or the exemption decision that asked for it."""
        loaded = loaded or self.config.current
        if not loaded.campaigns:
            return
        try:
            with self._lock:
                self.store.record_progress(
                    loaded.campaigns,
                    loaded.tracks_by_id,
                    now or datetime.now(UTC),
                    deadline_within_days=self._deadline_within_days,
                )
        except Exception:
            log.exception("recording campaign progress failed")

    def periodic(self, now: datetime) -> None:
        """The events of campaigns that time brings (the dispatcher's minute hook)."""
        loaded = self.config.current
        if loaded.campaigns:
            self.store.campaign_events(
                loaded.campaigns,
                loaded.tracks_by_id,
                now,
                deadline_within_days=self._deadline_within_days,
            )

    def titles(self) -> dict[str, str]:
        return {campaign.id: campaign.title for campaign in self.config.current.campaigns}
