"""session revocations: the accounts whose older tokens are no longer accepted, recorded
from cliente-service's SessionsRevoked (mercado_shared.sessions). Expand-only: a new table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.sessions import create_revocations_table, drop_revocations_table


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_revocations_table(op)


def downgrade() -> None:
    drop_revocations_table(op)
