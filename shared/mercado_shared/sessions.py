"""Ending an account's sessions in every service: a version per account, carried in its tokens.

cliente-service raises an account's session version when its password changes, when it
is erased, or when staff act on its identity. Each token carries the version it was
issued at (claim ``ver``; tokens from before versions existed read 0), and every service
refuses a token older than its account's version (401). cliente-service records the new
version in its own ``session_revocations`` table in the transaction that changed the
account and publishes ``SessionsRevoked``; the other services record it from that event,
one broker hop later (tens of milliseconds), and until then still accept the old token.

The table holds a row only for accounts that were ever revoked, so the check every
authenticated request makes is one primary-key lookup that usually finds nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

TABLE = "session_revocations"


def _columns() -> list[Any]:
    return [
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("version >= 1", name="ck_session_revocations_version"),
    ]


def revocations_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(TABLE, metadata, *_columns())


def create_revocations_table(op: Any) -> None:
    """For each service's migration that brought session versions (expand-only: a new table)."""
    op.create_table(TABLE, *_columns())


def drop_revocations_table(op: Any) -> None:
    op.drop_table(TABLE)


def end_sessions_before(on: Session | Connection, table: sa.Table, subject: str, version: int) -> None:
    """Tokens of ``subject`` issued before ``version`` are refused from this transaction's
    commit; a version lower than one already ended changes nothing."""
    upsert = insert(table).values(subject=subject, version=version)
    on.execute(
        upsert.on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={"version": sa.func.greatest(table.c.version, upsert.excluded.version), "revoked_at": sa.func.now()},
        )
    )


class Revocations:
    def __init__(self, engine: Engine, table: sa.Table) -> None:
        self._engine = engine
        self.table = table
        self._read = sa.select(table.c.version).where(table.c.subject == sa.bindparam("subject"))

    def ended(self, subject: str, version: int) -> bool:
        """Whether a token of ``subject`` issued at ``version`` was revoked since."""
        with self._engine.connect() as connection:
            current = connection.execute(self._read, {"subject": subject}).scalar()
        return current is not None and version < current
