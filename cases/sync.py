"""The outbox relay: moves queued record snapshots from our store into the IOC database.

Strategy:
- Messages are read in id order in batches and written to the IOC in one transaction per
  batch, as version-guarded upserts keyed by the record's idempotency key (`cases.ioc`).
  Only after the IOC commit are they marked sent here. A crash between the two resends the
  batch, and the upsert ignores what the IOC already has: exactly once in effect.
- If the IOC is unreachable, every message of the batch gets ``attempts + 1`` and a
  ``next_attempt_at`` backed off exponentially (base * 2^(attempts-1), capped). Nothing is
  dropped; calls and cases go on being written locally.
- Ordering per record: a message is never sent while an older message for the same record
  is still waiting for its retry time. Within a batch, messages go in id order.
- A message the IOC refuses for its content (not for connectivity) is isolated: the batch is
  retried one message at a time so that one bad record cannot hold the others back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import aliased

from cases import ioc
from cases.db import describe_url, session_factory, unit_of_work
from cases.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayResult:
    sent: int
    failed: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    pending: int
    retrying: int  # pending with at least one failed attempt
    oldest_pending_at: datetime | None
    oldest_pending_topic: str
    oldest_pending_key: str
    last_error: str
    sent: int

    def oldest_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest_pending_at if self.oldest_pending_at else None


def _clock() -> datetime:
    return datetime.now(UTC)


def _is_connectivity(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class OutboxRelay:
    """Relays the outbox of `local` into the IOC database at `ioc_engine`."""

    def __init__(
        self,
        local: Engine,
        ioc_engine: Engine,
        *,
        batch_size: int = 200,
        base_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _clock,
    ) -> None:
        self._sessions = session_factory(local)
        self._ioc = ioc_engine
        self._batch = batch_size
        self._base = base_backoff
        self._max = max_backoff
        self._clock = clock
        self._schema_ready = False

    def backoff(self, attempts: int) -> timedelta:
        if attempts <= 0:
            return timedelta(0)
        delay: timedelta = self._base * (2 ** min(attempts - 1, 30))
        return min(self._max, delay)

    def _due(self, now: datetime) -> list[OutboxMessage]:
        older = aliased(OutboxMessage)
        blocked = (
            select(older.id)
            .where(
                older.topic == OutboxMessage.topic,
                older.key == OutboxMessage.key,
                older.id < OutboxMessage.id,
                older.sent_at.is_(None),
                older.next_attempt_at > now,
            )
            .exists()
        )
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.sent_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                        ~blocked,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(self._batch)
                ).all()
            )

    def _write(self, messages: list[OutboxMessage], now: datetime) -> None:
        if not self._schema_ready:
            ioc.ensure_schema(self._ioc)
            self._schema_ready = True
        with self._ioc.begin() as conn:
            for m in messages:
                ioc.apply(conn, m.topic, m.key, m.version, m.payload, now)

    def _mark_sent(self, ids: list[int], now: datetime) -> None:
        with unit_of_work(self._sessions) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(sent_at=now, last_error="")
            )

    def _mark_failed(self, messages: list[OutboxMessage], now: datetime, error: str) -> None:
        with unit_of_work(self._sessions) as session:
            for m in messages:
                attempts = m.attempts + 1
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == m.id)
                    .values(
                        attempts=attempts,
                        next_attempt_at=now + self.backoff(attempts),
                        last_error=error[:2000],
                    )
                )

    def run_once(self) -> RelayResult:
        """Send one batch of due messages; never raises for IOC trouble (it is recorded)."""
        now = self._clock()
        messages = self._due(now)
        if not messages:
            return RelayResult(0, 0)
        try:
            self._write(messages, now)
        except SQLAlchemyError as exc:
            self._schema_ready = self._schema_ready and not _is_connectivity(exc)
            error = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
            if _is_connectivity(exc) or len(messages) == 1:
                log.warning(
                    "IOC database %s unavailable, %d message(s) wait: %s",
                    describe_url(self._ioc.url),
                    len(messages),
                    error.splitlines()[0],
                )
                self._mark_failed(messages, now, error)
                return RelayResult(0, len(messages), error)
            return self._one_by_one(messages, now)
        self._mark_sent([m.id for m in messages], now)
        return RelayResult(len(messages), 0)

    def _one_by_one(self, messages: list[OutboxMessage], now: datetime) -> RelayResult:
        sent: list[int] = []
        failed: list[OutboxMessage] = []
        error = ""
        for m in messages:
            try:
                self._write([m], now)
                sent.append(m.id)
            except SQLAlchemyError as exc:
                error = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
                log.error("IOC refused %s %s v%d: %s", m.topic, m.key, m.version, error)
                failed.append(m)
                if _is_connectivity(exc):
                    failed.extend(x for x in messages if x.id > m.id)
                    break
        if sent:
            self._mark_sent(sent, now)
        if failed:
            self._mark_failed(failed, now, error)
        return RelayResult(len(sent), len(failed), error)

    def drain(self, max_batches: int = 1_000_000) -> int:
        """Send batches until nothing is due (or a batch fails); how many were sent."""
        total = 0
        for _ in range(max_batches):
            result = self.run_once()
            total += result.sent
            if result.failed or result.sent < self._batch:
                break
        return total

    def run_forever(self, stop: threading.Event, interval_s: float) -> None:
        """Relay until `stop` is set: drain, then sleep `interval_s` (wakes early on stop)."""
        log.info("relaying the outbox into %s", describe_url(self._ioc.url))
        while not stop.is_set():
            try:
                self.drain()
            except SQLAlchemyError:
                log.exception("outbox relay: local database error; retrying")
            stop.wait(interval_s)


def sync_status(local: Engine) -> SyncStatus:
    """The backlog of the outbox and its oldest pending message."""
    with session_factory(local)() as session:
        pending = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))
        )
        retrying = session.scalar(
            select(func.count(OutboxMessage.id)).where(
                and_(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts > 0)
            )
        )
        sent = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_not(None))
        )
        oldest = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(1)
        ).first()
        last_error = session.scalar(
            select(OutboxMessage.last_error)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.last_error != "")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    return SyncStatus(
        pending=pending or 0,
        retrying=retrying or 0,
        oldest_pending_at=oldest.created_at if oldest else None,
        oldest_pending_topic=oldest.topic if oldest else "",
        oldest_pending_key=oldest.key if oldest else "",
        last_error=last_error or "",
        sent=sent or 0,
    )


def purge_sent(local: Engine, older_than: datetime) -> int:
    """Delete messages sent before `older_than` (the IOC has them); how many."""
    from sqlalchemy import delete

    with unit_of_work(session_factory(local)) as session:
        result = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < older_than
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
