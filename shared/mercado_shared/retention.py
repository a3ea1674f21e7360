"""Retention: rows that only serve a purpose for a while are deleted once it is over.

Every service purges its own database, from a background loop in each instance (Cloud Run
keeps CPU allocated to them, ``cpu_idle = false``); a session-level advisory lock lets one
instance of a service purge at a time. Each purge deletes in small batches, one short
transaction each, so it never holds locks or a long snapshot against the traffic.

- ``inbox``: received longer ago than a message can come back (its subscription's
  retention, then the dead-letter hold), plus a day: 15 days. It only recognises redeliveries.
- ``outbox``: published more than 7 days ago (evidence for troubleshooting); a row not yet
  sent is never purged.
- ``dead_letters``: 30 days after staff redrove or discarded them; one still held is
  never purged (mercado_shared.messaging.dead_letters).
- ``rate_limits``: once the bucket would be full again (``full_at``): a missing bucket is a
  full one, so nothing is forgiven early.
- ``idempotency_keys`` (orquestrador): after 24 hours; clients retry within minutes, and
  Stripe keeps its keys for 24 hours too.
- ``password_resets`` (cliente): a day after they expired (a link works for 30 minutes).

The audit log is never purged (the database refuses it), and nothing here touches a
purchase, a payment or a customer: docs/security.md, section 4, says what is kept and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mercado_shared import metrics
from mercado_shared.topology import load_topology

log = logging.getLogger(__name__)

OUTBOX_KEPT = timedelta(days=7)
DEAD_LETTERS_KEPT = timedelta(days=30)  # after staff redrove or discarded them; held ones never go
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=24)
PASSWORD_RESETS_KEPT = timedelta(days=1)
BATCH = 1000
_LOCK = 0x72657461  # "reta": one instance of a service purges at a time


def inbox_kept() -> timedelta:
    """Longer than a message can still come back: kept by its subscription for as long as
    the longest retention, then held as a dead letter until an operator replays it (with
    its own message id: ``mercado_shared.deadletters``). After that, no redelivery can come."""
    topology = load_topology()
    longest = max(s.policy.message_retention_seconds for s in topology.subscriptions())
    return timedelta(seconds=longest + topology.DEAD_LETTER_RETENTION_SECONDS) + timedelta(days=1)


@dataclass(frozen=True)
class Purge:
    """Rows of ``table`` matching ``expired`` (SQL over its columns; ``:kept`` is an interval)."""

    table: str
    expired: str
    kept: timedelta = timedelta(0)

    def statement(self) -> sa.TextClause:
        # ctid: a batch of rows located once, deleted without a key (some tables have composite ones)
        return sa.text(
            f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY("  # noqa: S608 (names are ours, never input)
            f"SELECT ctid FROM {self.table} WHERE {self.expired} LIMIT :batch))"
        )


def messaging_purges() -> list[Purge]:
    """What every service purges: its inbox, its sent outbox rows."""
    return [
        Purge("inbox", "received_at < now() - :kept", inbox_kept()),
        Purge("outbox", "created_at < now() - :kept AND published_at IS NOT NULL", OUTBOX_KEPT),
        Purge("dead_letters", "settled_at < now() - :kept", DEAD_LETTERS_KEPT),
    ]


RATE_LIMITS = Purge("rate_limits", "COALESCE(full_at, updated_at + :kept) < now()", timedelta(days=30))  # null: before
IDEMPOTENCY_KEYS = Purge("idempotency_keys", "created_at < now() - :kept", IDEMPOTENCY_KEYS_KEPT)
PASSWORD_RESETS = Purge("password_resets", "expires_at < now() - :kept", PASSWORD_RESETS_KEPT)
DEAD_MAIL = Purge("outgoing_mail", "dead_at < now() - :kept", timedelta(days=30))  # cliente-service's


class RetentionSweep:
    """One round of every purge of a service; a Periodic runs it (``RETENTION_INTERVAL_SECONDS``)."""

    def __init__(self, engine: Engine, service: str, purges: Sequence[Purge], batch: int = BATCH) -> None:
        self.engine = engine
        self.service = service
        self.purges = list(purges)
        self.batch = batch

    def __call__(self) -> dict[str, int]:
        """Rows deleted per table; nothing when another instance is purging."""
        deleted: dict[str, int] = {}
        with self.engine.connect() as conn:
            if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK}).scalar_one():
                conn.rollback()
                return deleted
            conn.commit()
            try:
                for purge in self.purges:
                    deleted[purge.table] = self._purge(conn, purge)
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK})
                conn.commit()
        if any(deleted.values()):
            log.info("retention purge", extra={"deleted": deleted})
        return deleted

    def _purge(self, conn: sa.Connection, purge: Purge) -> int:
        total = 0
        statement = purge.statement()
        while True:
            count = conn.execute(statement, {"kept": purge.kept, "batch": self.batch}).rowcount
            conn.commit()
            total += count
            metrics.RETENTION_PURGED.labels(self.service, purge.table).inc(count)
            if count < self.batch:
                return total
