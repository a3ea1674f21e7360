"""retention: the purge of rows whose use is over (inbox and outbox, rate-limit
buckets) finds them by time: BRIN indexes and the buckets' full_at (mercado_shared.retention). Expand-only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.messaging.schema import add_retention_indexes, drop_retention_indexes
from mercado_shared.ratelimit import add_full_at, drop_full_at


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_retention_indexes(op)
    add_full_at(op)


def downgrade() -> None:
    drop_full_at(op)
    drop_retention_indexes(op)
