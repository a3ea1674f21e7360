"""retention: the purge of rows whose use is over (inbox and outbox) finds them by
time: BRIN indexes (mercado_shared.retention). Expand-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.messaging.schema import add_retention_indexes, drop_retention_indexes


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_retention_indexes(op)


def downgrade() -> None:
    drop_retention_indexes(op)
