"""The dispatcher: routes the outbox's events to messages, and sends them through Apprise
with retries, in a thread of its own so that no target ever slows a run.

Each step is its own transaction. Routing marks events routed in the transaction that
writes their messages, so a crash loses none and routes none twice; a message is marked
sent after Apprise took it, so a crash between the two sends it again, with the same
idempotency key (at least once). A message that fails waits `backoff_seconds`, doubled
at each attempt (at most an hour), and is marked failed after `max_attempts`; each
target's messages are sent apart from the others', so one that hangs holds up no other.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scorecard.entity import Entity
from scorecard.notify.routing import Context, Message, Routed, route
from scorecard.store.exemptions import emit_expiring
from scorecard.store.tables import (
    DeliveryRecord,
    DeliveryStatus,
    EntityRecord,
    OutboxEvent,
)

if TYPE_CHECKING:
    from scorecard.store import Store
    from scorecard.tracks import Track
    from scorecard.workspace import NotificationsConfig

log = logging.getLogger("scorecard.notify")

_outbox = OutboxEvent.__table__
_delivery = DeliveryRecord.__table__
_MAX_BACKOFF = timedelta(hours=1)
_BATCH = 500
# Schemes whose requests can carry the idempotency key as a header (`+Header=value`).
_HEADER_SCHEMES = ("json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos")

Sender = Callable[[str, str, str, str], None]  # (url, title, body, key); raises on failure


class DeliveryFailed(Exception):
    pass


def apprise_send(url: str, title: str, body: str, key: str) -> None:
    """Send one message through Apprise; raises `DeliveryFailed` with what it logged."""
    import apprise  # imported when a message is sent, not when the CLI starts

    scheme = url.partition("://")[0].lower()
    if scheme in _HEADER_SCHEMES:
        url += ("&" if "?" in url else "?") + f"+Idempotency-Key={key}"
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryFailed("Apprise does not understand the target's URL")
    with apprise.LogCapture(level=logging.WARNING) as captured:
        sent = notifier.notify(title=title, body=body)
    if not sent:
        detail = captured.getvalue().strip().splitlines()  # type: ignore[attr-defined]
        raise DeliveryFailed(detail[-1] if detail else "the target refused the message")


class Dispatcher:
    """Routes and sends; `start()` runs it every `interval` seconds in a thread, and
    `wake()` makes it look at once (a run just finished)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], NotificationsConfig],
        tracks: Callable[[], Mapping[str, Track]],
        *,
        public_url: str | None = None,
        campaign_titles: Callable[[], Mapping[str, str]] = dict,
        send: Sender = apprise_send,
        interval: float = 1.0,
        environ: Mapping[str, str] | None = None,
        periodic: Callable[[datetime], None] | None = None,
    ) -> None:
        self.store = store
        self._config = config
        self._tracks = tracks
        self._public_url = public_url
        self._campaign_titles = campaign_titles
        self._send = send
        self.interval = interval
        self._environ = os.environ if environ is None else environ
        self._periodic = periodic
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_periodic: datetime | None = None

    # --- the thread -----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="notifications", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                # A database gone away, a bug: logged, and tried again next time.
                log.exception("dispatching notifications failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    # --- one pass -------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Route every unrouted event, send every message that is due, and once a minute
        write the events nothing else causes (exemptions about to expire, campaigns)."""
        now = now or datetime.now(UTC)
        if self._last_periodic is None or now - self._last_periodic >= timedelta(minutes=1):
            self._last_periodic = now
            self.periodic(now)
        while self.route_pending(now):
            pass
        self.send_due(now)

    def periodic(self, now: datetime) -> None:
        config = self._config()
        with self.store.transaction() as session:
            emit_expiring(session, now, timedelta(days=config.expiring_within_days))
        if self._periodic is not None:
            self._periodic(now)

    def route_pending(self, now: datetime) -> int:
        """Route a batch of unrouted events; how many there were."""
        config = self._config()
        o = _outbox.c
        with self.store.transaction() as session:
            rows = session.execute(
                select(_outbox)
                .where(o.routed.is_(False))
                .order_by(o.id)
                .limit(_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            found = [
                Routed(
                    r.id,
                    r.key,
                    r.kind,
                    r.run_id,
                    r.entity_ref,
                    r.track_id,
                    r.campaign_id,
                    r.data,
                )
                for r in rows
            ]
            messages = route(found, config, self._context(session, found, config))
            _insert_messages(session, messages, now)
            session.execute(
                update(_outbox).where(o.id.in_([r.id for r in rows])).values(routed=True)
            )
        return len(rows)

    def _context(
        self, session: Session, found: list[Routed], config: NotificationsConfig
    ) -> Context:
        refs = sorted({e.entity_ref for e in found if e.entity_ref})
        e = EntityRecord.__table__.c
        owners: dict[str, str | None] = {}
        documents: dict[str, Entity] = {}
        wants_documents = any(rule.filter for rule in config.rules)
        for start in range(0, len(refs), _BATCH):
            chunk = refs[start : start + _BATCH]
            columns = [e.ref, e.owner, e.raw] if wants_documents else [e.ref, e.owner]
            for row in session.execute(select(*columns).where(e.ref.in_(chunk))):
                owners[row[0]] = row[1]
                if wants_documents:
                    documents[row[0]] = Entity(row[2])
        return Context(
            tracks=self._tracks(),
            owners=owners,
            documents=documents,
            public_url=self._public_url,
            campaign_titles=self._campaign_titles(),
        )

    def send_due(self, now: datetime) -> int:
        """Send the messages whose attempt is due, each target's in turn, the targets at
        once; how many were tried."""
        d = _delivery.c
        with self.store.transaction() as session:
            due = session.execute(
                select(d.id, d.target, d.key, d.title, d.body, d.attempts)
                .where(d.status == DeliveryStatus.PENDING, d.next_attempt_at <= now)
                .order_by(d.id)
                .limit(_BATCH)
            ).all()
        if not due:
            return 0
        by_target: dict[str, list[tuple[int, str, str, str, int]]] = {}
        for row in due:
            by_target.setdefault(row.target, []).append(
                (row.id, row.key, row.title, row.body, row.attempts)
            )
        with ThreadPoolExecutor(max_workers=min(8, len(by_target))) as pool:
            list(pool.map(lambda item: self._send_target(*item), by_target.items()))
        return len(due)

    def _send_target(self, target: str, messages: list[tuple[int, str, str, str, int]]) -> None:
        config = self._config()
        known = {t.name: t for t in config.targets}
        for delivery_id, key, title, body, attempts in messages:
            if self._stopping.is_set():
                return
            error = None
            spec = known.get(target)
            url = None
            if spec is None:
                error = f"no target {target!r} in the configuration"
            else:
                url = spec.url or self._environ.get(spec.url_env or "", "").strip() or None
                if url is None:
                    error = f"the variable {spec.url_env} holding the target's URL is not set"
            if url is not None:
                try:
                    self._send(url, title, body, key)
                except Exception as failure:
                    error = f"{type(failure).__name__}: {failure}"[:500]
            self._record(
                delivery_id, target, attempts, error, config.max_attempts, config.backoff_seconds
            )

    def _record(
        self,
        delivery_id: int,
        target: str,
        attempts: int,
        error: str | None,
        max_attempts: int,
        backoff: float,
    ) -> None:
        now = datetime.now(UTC)
        d = _delivery.c
        values: dict[str, object] = {"attempts": attempts + 1}
        if error is None:
            values |= {"status": DeliveryStatus.SENT, "sent_at": now, "last_error": None}
        else:
            wait = min(timedelta(seconds=backoff * 2**attempts), _MAX_BACKOFF)
            values |= {"last_error": error, "next_attempt_at": now + wait}
            values["first_failed_at"] = func.coalesce(d.first_failed_at, now)
            if attempts + 1 >= max_attempts:
                values["status"] = DeliveryStatus.FAILED
            log.warning(
                "notification %d to %s failed (attempt %d of %d): %s",
                delivery_id, target, attempts + 1, max_attempts, error,
            )  # fmt: skip
        with self.store.transaction() as session:
            session.execute(update(_delivery).where(d.id == delivery_id).values(**values))


def _insert_messages(session: Session, messages: list[Message], now: datetime) -> None:
    if not messages:
        return
    rows = [
        {
            "key": m.key, "target": m.target, "events": list(m.events), "title": m.title[:1000],
            "body": m.body[:20_000], "status": DeliveryStatus.PENDING, "attempts": 0,
            "created_at": now, "next_attempt_at": now,
        }
        for m in messages
    ]  # fmt: skip
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_delivery).on_conflict_do_nothing(index_elements=["key"])
    session.execute(statement, rows)


def failing_targets(
    store: Store, now: datetime, after: timedelta = timedelta(hours=1)
) -> list[str]:
    """Targets whose messages have failed for `after` without one getting through since."""
    d = _delivery.c
    with store.transaction() as session:
        failing = session.execute(
            select(d.target, func.min(d.first_failed_at))
            .where(d.first_failed_at.is_not(None), d.status != DeliveryStatus.SENT)
            .group_by(d.target)
        ).all()
        found = []
        for target, since in failing:
            if since is None or now - since < after:
                continue
            later = session.scalar(
                select(func.count())
                .select_from(_delivery)
                .where(d.target == target, d.status == DeliveryStatus.SENT, d.sent_at > since)
            )
            if not later:
                found.append(target)
    return sorted(found)
