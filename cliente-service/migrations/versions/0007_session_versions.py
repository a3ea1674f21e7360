"""session versions: a customer's and a staff member's tokens carry the version they were
issued at, and ``session_revocations`` (every service has one) says which are no longer
accepted (mercado_shared.sessions). Expand-only: columns with a default and a new table,
which the revision still serving neither reads nor writes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from mercado_shared.sessions import create_revocations_table, drop_revocations_table


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
    op.add_column('staff', sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
    create_revocations_table(op)


def downgrade() -> None:
    drop_revocations_table(op)
    op.drop_column('staff', 'session_version')
    op.drop_column('customers', 'session_version')
