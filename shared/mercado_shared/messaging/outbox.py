"""The transactional outbox.

A state change and the messages it causes are written in one transaction (``Outbox.add``).
Right after commit the unit of work hands the new rows to ``OutboxRelay.publish_committed``,
which queues them for the relay's sender thread and returns at once: the handler answers its
push without waiting on the broker, and the sender publishes whatever has queued up together
and marks it sent with one UPDATE. Whatever is still unpublished after a crash, a broker
outage, a full queue or a lost race is found by ``OutboxRelay.sweep``, which a background
thread runs every few seconds (and, on Cloud Run, a scheduler can trigger). Delivery is
therefore at least once; consumers dedupe by message id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mercado_shared import metrics, tracing
from mercado_shared.contracts import Envelope
from mercado_shared.health import PublishHealth
from mercado_shared.messaging.publisher import OutgoingMessage, Publisher
from mercado_shared.messaging.schema import MessagingTables
from mercado_shared.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str
    body: str
    attributes: dict[str, str]
    created_at: datetime

    def outgoing(self) -> OutgoingMessage:
        return OutgoingMessage(self.topic, self.body.encode(), self.attributes)


class Outbox:
    """Writes messages in the caller's transaction."""

    def __init__(self, session: Session, tables: MessagingTables) -> None:
        self.session = session
        self.tables = tables

    def add(self, envelope: Envelope) -> OutboxRow:
        body = envelope.model_dump_json()
        with tracing.purchase_span(f"send {envelope.type}", envelope.correlation_id, SpanKind.PRODUCER):
            attributes = {**envelope.attributes(), **tracing.inject()}  # the trace rides along
        row_id, created_at = self.session.execute(
            self.tables.add_to_outbox,
            {"message_id": envelope.message_id, "topic": envelope.type, "body": body, "attributes": attributes},
        ).one()
        return OutboxRow(row_id, envelope.type, body, attributes, created_at)


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        table: sa.Table,
        publisher: Publisher,
        *,
        service: str,
        interval: float = 1.0,
        grace: float = 2.0,
        batch_size: int = 200,
        queue_limit: int = 10_000,
        lease_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.table = table
        self.publisher = publisher
        self.service = service
        self.interval = interval
        self.grace = timedelta(seconds=grace)
        self.batch_size = batch_size
        self.queue_limit = queue_limit
        self.lease_seconds = lease_seconds
        self._loop = Periodic("outbox-relay", interval, self._drain)
        self._queue: deque[OutboxRow] = deque()
        self._queued = threading.Condition()
        self._sender: threading.Thread | None = None
        self._stopping = False
        self.health = PublishHealth()

    # ------------------------------------------------------------------ publishing
    def _publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        if not rows:
            return []
        attempt = self.health.started()
        results: list[bool] = []
        try:
            results = self.publisher.publish([r.outgoing() for r in rows])
        finally:
            self.health.finished(attempt, ok=bool(results) and all(results))
        published = [r for r, ok in zip(rows, results, strict=True) if ok]
        now = datetime.now(UTC)
        for r in published:
            metrics.OUTBOX_LAG.labels(self.service).observe(max(0.0, (now - r.created_at).total_seconds()))
        metrics.OUTBOX_PUBLISHED.labels(self.service, "ok").inc(len(published))
        metrics.OUTBOX_PUBLISHED.labels(self.service, "failed").inc(len(rows) - len(published))
        return [r.id for r in published]

    def publish_committed(self, rows: Sequence[OutboxRow]) -> None:
        """Send rows that were just committed. Never raises and, once the relay is started,
        never waits: the rows are queued for the sender thread (or, the queue being full,
        left to the sweep). Before ``start`` and after ``stop`` they are sent right here."""
        with self._queued:
            if self._sender is not None and not self._stopping:
                room = self.queue_limit - len(self._queue)
                self._queue.extend(rows[: max(room, 0)])
                self._queued.notify()
                if room < len(rows):
                    metrics.OUTBOX_PUBLISHED.labels(self.service, "deferred").inc(len(rows) - max(room, 0))
                return
        self._send(rows)

    def _send(self, rows: Sequence[OutboxRow]) -> None:
        try:
            ids = self._publish(rows)
            if ids:
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.update(self.table)
                        .where(self.table.c.id.in_(ids), self.table.c.published_at.is_(None))
                        .values(published_at=sa.func.now())
                    )
        except Exception:
            log.exception("publishing after commit failed; the relay sweep will retry")

    def _send_queued(self) -> None:
        """The sender thread: whatever queued while the last batch was out goes next, in
        one publish and one UPDATE. On stop it sends what is left, then ends."""
        while True:
            with self._queued:
                self._queued.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.batch_size))]
            self._send(batch)

    def sweep(self) -> int:
        """Publish rows left unpublished for longer than the grace period. Returns the count.

        Rows are claimed for ``lease`` seconds in one short transaction, published with no
        connection held and no row locked (a broker that does not answer holds nothing of
        the database's), then marked sent. Another instance's sweep skips claimed rows
        until the lease runs out: a crash mid-publish delays those rows by a lease, and
        a lease that ran out under a slow broker sends them twice at worst, which the
        consumers' inbox absorbs."""
        t = self.table
        lease = sa.func.now() + sa.text(f"interval '{self.lease_seconds:g} seconds'")
        due = (
            sa.select(t.c.id)
            .where(
                t.c.published_at.is_(None),
                t.c.created_at < sa.func.now() - self.grace,
                sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < sa.func.now()),
            )
            .order_by(t.c.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            claimed = conn.execute(
                sa.update(t)
                .where(t.c.id.in_(due.scalar_subquery()))
                .values(claimed_until=lease, publish_attempts=t.c.publish_attempts + 1)
                .returning(t.c.id, t.c.topic, t.c.body, t.c.attributes, t.c.created_at)
            ).all()
        if not claimed:
            return 0
        rows = sorted(
            (OutboxRow(r.id, r.topic, r.body, _attributes(r.attributes), r.created_at) for r in claimed),
            key=lambda row: row.id,
        )
        ids = self._publish(rows)  # nothing of the database is held while the broker answers
        if ids:
            with self.engine.begin() as conn:
                conn.execute(sa.update(t).where(t.c.id.in_(ids)).values(published_at=sa.func.now()))
        log.info("outbox sweep", extra={"found": len(rows), "published": len(ids)})
        return len(ids)

    # ------------------------------------------------------------------ background loop
    def start(self) -> None:
        with self._queued:
            if self._sender is None:
                self._stopping = False
                self._sender = threading.Thread(target=self._send_queued, name="outbox-sender", daemon=True)
                self._sender.start()
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sweeping, and send what is queued first (up to ``timeout``; the rest is
        left to the next instance's sweep)."""
        deadline = time.monotonic() + timeout
        self._loop.stop(timeout)
        with self._queued:
            sender, self._stopping = self._sender, True
            self._queued.notify()
        if sender is not None:
            sender.join(max(0.0, deadline - time.monotonic()))
        with self._queued:
            self._sender = None

    def _drain(self) -> None:
        while self.sweep() == self.batch_size:
            pass


def _attributes(value: object) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}
