"""The outbox and inbox tables every service's database holds (and the session revocations
every service checks tokens against: mercado_shared.sessions).

``messaging_tables`` adds them to a service's SQLAlchemy metadata; ``create_messaging_tables``
is what each service's first Alembic migration calls, so the DDL is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from mercado_shared.audit import audit_table
from mercado_shared.sessions import revocations_table


@dataclass(frozen=True)
class MessagingTables:
    outbox: sa.Table
    inbox: sa.Table
    revocations: sa.Table
    audit: sa.Table
    dead_letters: sa.Table

    # Every message handled runs these two statements. Built once and executed with fresh
    # parameters, they skip SQLAlchemy's construction and cache-key work (~80 µs each).
    @cached_property
    def claim_message(self) -> sa.Insert:
        """Record a message id in the inbox; returns a row only if it was not there."""
        inbox = self.inbox
        return insert(inbox).on_conflict_do_nothing(index_elements=[inbox.c.message_id]).returning(inbox.c.message_id)

    @cached_property
    def add_to_outbox(self) -> sa.Insert:
        return sa.insert(self.outbox).returning(self.outbox.c.id, self.outbox.c.created_at)


def _outbox_columns() -> list[Any]:
    return [
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_attempts", sa.Integer, nullable=False, server_default="0"),
    ]


def _inbox_columns() -> list[Any]:
    return [
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def _lease_column() -> sa.Column[Any]:
    """Until when a sweep has claimed a row it is publishing (no lock is held meanwhile)."""
    return sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True)


# Dead letters kept for staff (mercado_shared.messaging.dead_letters).
DEAD_LETTERS = "dead_letters"
HELD, REDRIVEN, DISCARDED = "HELD", "REDRIVEN", "DISCARDED"


def _dead_letter_columns() -> list[Any]:
    return [
        # The envelope's message id (what the inbox dedupes on), else the broker's
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=True),
        sa.Column("source_subscription", sa.Text, nullable=True),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        sa.Column("times_dead", sa.Integer, nullable=False, server_default="1"),
        sa.Column("last_push_id", sa.Text, nullable=False),  # the dead-letter topic's message id
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("state", sa.Text, nullable=False, server_default=HELD),
        sa.Column("last_error", sa.Text, nullable=True),  # of the last redrive that failed
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.CheckConstraint(f"state IN ('{HELD}', '{REDRIVEN}', '{DISCARDED}')", name="ck_dead_letters_state"),
        sa.CheckConstraint("(state = 'HELD') = (settled_at IS NULL)", name="ck_dead_letters_settled"),
    ]


_DEAD_LETTER_INDEX = ("ix_dead_letters_state_dead_at", ["state", "dead_at", "id"])


def dead_letter_table(metadata: sa.MetaData) -> sa.Table:
    table = sa.Table(DEAD_LETTERS, metadata, *_dead_letter_columns())
    sa.Index(_DEAD_LETTER_INDEX[0], *(table.c[c] for c in _DEAD_LETTER_INDEX[1]))
    return table


def create_dead_letter_table(op: Any) -> None:
    """For each service's migration that brought dead letters over HTTP (expand-only)."""
    op.create_table(DEAD_LETTERS, *_dead_letter_columns())
    op.create_index(_DEAD_LETTER_INDEX[0], DEAD_LETTERS, _DEAD_LETTER_INDEX[1])


def drop_dead_letter_table(op: Any) -> None:
    op.drop_index(_DEAD_LETTER_INDEX[0], table_name=DEAD_LETTERS)
    op.drop_table(DEAD_LETTERS)


UNPUBLISHED_INDEX = "ix_outbox_unpublished"
# The retention purge finds old rows by time (mercado_shared.retention). Both tables are
# written in time order, so a BRIN index (a few pages, next to nothing per insert) serves.
RETENTION_INDEXES = {"inbox": ("ix_inbox_received_at", "received_at"), "outbox": ("ix_outbox_created_at", "created_at")}


# Staff's timeline of a purchase finds its messages in each service (mercado_shared.operations).
OUTBOX_CORRELATION = sa.text("(attributes ->> 'correlation_id')")
CORRELATION_INDEXES = {"outbox": "ix_outbox_correlation", "inbox": "ix_inbox_correlation"}


def messaging_tables(metadata: sa.MetaData) -> MessagingTables:
    outbox = sa.Table("outbox", metadata, *_outbox_columns(), _lease_column())
    sa.Index(UNPUBLISHED_INDEX, outbox.c.id, postgresql_where=outbox.c.published_at.is_(None))
    sa.Index(CORRELATION_INDEXES["outbox"], outbox.c.attributes["correlation_id"].as_string())
    inbox = sa.Table("inbox", metadata, *_inbox_columns())
    sa.Index(CORRELATION_INDEXES["inbox"], inbox.c.correlation_id)
    for table in (outbox, inbox):
        name, column = RETENTION_INDEXES[table.name]
        sa.Index(name, table.c[column], postgresql_using="brin")
    return MessagingTables(
        outbox=outbox,
        inbox=inbox,
        revocations=revocations_table(metadata),
        audit=audit_table(metadata),
        dead_letters=dead_letter_table(metadata),
    )


def create_messaging_tables(op: Any) -> None:
    """For a service's first Alembic migration."""
    op.create_table("outbox", *_outbox_columns())
    op.create_index(UNPUBLISHED_INDEX, "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table("inbox", *_inbox_columns())


def add_outbox_lease(op: Any) -> None:
    """For each service's migration that gave the sweep its lease. The sweep used to claim
    unpublished rows with SELECT … FOR UPDATE and publish inside that transaction, holding
    a connection and the rows' locks for as long as the broker took to answer; it now sets
    ``claimed_until`` in a short transaction, publishes with nothing held, and marks what
    was sent. Expand-only: a nullable column the previous revision neither reads nor needs."""
    op.add_column("outbox", _lease_column())


def add_retention_indexes(op: Any) -> None:
    """For each service's migration that brought the retention purge."""
    for table, (name, column) in RETENTION_INDEXES.items():
        op.create_index(name, table, [column], postgresql_using="brin")


def add_correlation_indexes(op: Any) -> None:
    """For each service's migration that brought staff's timeline (expand-only: indexes).
    Built CONCURRENTLY, outside the migration's transaction: the tables take writes all along."""
    with op.get_context().autocommit_block():
        op.create_index(CORRELATION_INDEXES["outbox"], "outbox", [OUTBOX_CORRELATION], postgresql_concurrently=True)
        op.create_index(CORRELATION_INDEXES["inbox"], "inbox", ["correlation_id"], postgresql_concurrently=True)


def drop_correlation_indexes(op: Any) -> None:
    for table, name in CORRELATION_INDEXES.items():
        op.drop_index(name, table_name=table)


def drop_retention_indexes(op: Any) -> None:
    for table, (name, _) in RETENTION_INDEXES.items():
        op.drop_index(name, table_name=table)


def drop_outbox_lease(op: Any) -> None:
    op.drop_column("outbox", "claimed_until")


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("inbox")
    op.drop_index(UNPUBLISHED_INDEX, table_name="outbox")
    op.drop_table("outbox")
