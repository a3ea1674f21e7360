"""The transactional outbox.

A state change and the messages it causes are written in one transaction (``Outbox.add``).
Right after commit the unit of work hands the new rows to ``OutboxRelay.publish_committed``;
whatever is still unpublished after a crash, a broker outage or a lost race is found by
``OutboxRelay.sweep``, which a background thread runs every few seconds (and, on Cloud Run,
a scheduler can trigger). Delivery is therefore at least once; consumers dedupe by message id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mercado_shared import metrics, tracing
from mercado_shared.contracts import Envelope
from mercado_shared.messaging.publisher import OutgoingMessage, Publisher
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

    def __init__(self, session: Session, table: sa.Table) -> None:
        self.session = session
        self.table = table

    def add(self, envelope: Envelope) -> OutboxRow:
        body = envelope.model_dump_json()
        with tracing.purchase_span(f"send {envelope.type}", envelope.correlation_id, SpanKind.PRODUCER):
            attributes = {**envelope.attributes(), **tracing.inject()}  # the trace rides along
        row_id, created_at = self.session.execute(
            sa.insert(self.table)
            .values(
                message_id=envelope.message_id,
                topic=envelope.type,
                body=body,
                attributes=attributes,
            )
            .returning(self.table.c.id, self.table.c.created_at)
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
    ) -> None:
        self.engine = engine
        self.table = table
        self.publisher = publisher
        self.service = service
        self.interval = interval
        self.grace = timedelta(seconds=grace)
        self.batch_size = batch_size
        self._loop = Periodic("outbox-relay", interval, self._drain)

    # ------------------------------------------------------------------ publishing
    def _publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        if not rows:
            return []
        results = self.publisher.publish([r.outgoing() for r in rows])
        published = [r for r, ok in zip(rows, results, strict=True) if ok]
        now = datetime.now(UTC)
        for r in published:
            metrics.OUTBOX_LAG.labels(self.service).observe(max(0.0, (now - r.created_at).total_seconds()))
        metrics.OUTBOX_PUBLISHED.labels(self.service, "ok").inc(len(published))
        metrics.OUTBOX_PUBLISHED.labels(self.service, "failed").inc(len(rows) - len(published))
        return [r.id for r in published]

    def publish_committed(self, rows: Sequence[OutboxRow]) -> None:
        """Publish rows that were just committed. Never raises: the sweep is the safety net."""
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

    def sweep(self) -> int:
        """Publish rows left unpublished for longer than the grace period. Returns the count."""
        with self.engine.begin() as conn:
            t = self.table
            found = conn.execute(
                sa.select(t.c.id, t.c.topic, t.c.body, t.c.attributes, t.c.created_at)
                .where(t.c.published_at.is_(None), t.c.created_at < sa.func.now() - self.grace)
                .order_by(t.c.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not found:
                return 0
            rows = [OutboxRow(r.id, r.topic, r.body, _attributes(r.attributes), r.created_at) for r in found]
            ids = self._publish(rows)
            conn.execute(
                sa.update(t).where(t.c.id.in_([r.id for r in rows])).values(publish_attempts=t.c.publish_attempts + 1)
            )
            if ids:
                conn.execute(sa.update(t).where(t.c.id.in_(ids)).values(published_at=sa.func.now()))
            log.info("outbox sweep", extra={"found": len(rows), "published": len(ids)})
            return len(ids)

    # ------------------------------------------------------------------ background loop
    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _drain(self) -> None:
        while self.sweep() == self.batch_size:
            pass


def _attributes(value: object) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}
