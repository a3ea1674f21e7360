"""staff's timeline of a purchase: its messages in this service's outbox and inbox, found
by correlation id (mercado_shared.messaging.schema.add_correlation_indexes). Expand-only:
two indexes, built concurrently.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:30:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.messaging.schema import add_correlation_indexes, drop_correlation_indexes


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_correlation_indexes(op)


def downgrade() -> None:
    drop_correlation_indexes(op)
