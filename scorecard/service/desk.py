"""What the desks that change stored levels outside a run share: exemptions decided or
expiring, results pushed or past their `max_age`.

After each change a desk tells the readers that cache stored results (`on_change`), the
hooks that follow levels (campaign progress, the notification dispatcher), and the
scheduler when its next timed change falls due (`on_next_instant`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from scorecard.service.config import LiveConfig
from scorecard.store import Store
from scorecard.tracks import Track

log = logging.getLogger("scorecard.service")


class LevelsDesk:
    def __init__(
        self,
        store: Store,
        config: LiveConfig,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.config = config
        self._on_change = on_change
        # Told, after every change, when the next timed change falls due (the scheduler).
        self.on_next_instant: Callable[[datetime | None], None] = lambda when: None
        # Also told after every change (campaign progress, the notification dispatcher).
        self.on_change_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def _tracks(self) -> dict[str, Track]:
        return {track.id: track for track in self.config.current.tracks}

    def next_instant(self) -> datetime | None:
        """When the next timed change falls due (None: none)."""
        raise NotImplementedError

    def reschedule(self) -> None:
        """Tell the scheduler when the next timed change falls due."""
        try:
            self.on_next_instant(self.next_instant())
        except Exception:
            log.exception("scheduling the next %s failed", type(self).__name__)

    def _changed(self) -> None:
        self._on_change()
        for hook in self.on_change_hooks:
            try:
                hook()
            except Exception:  # a hook that fails must not undo or hide the change
                log.exception("a hook after a change of stored levels failed")
        self.reschedule()
