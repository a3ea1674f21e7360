"""the saga's history records what each input made it do: the commands sent (their types),
at which attempt of the step, the deadline set; staff's timeline reads them
(GET /operations/purchases/{id}). The audit log is read by subject for that timeline.
Expand-only: nullable columns (entries written before, and by the revision before, have
none) and an index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('saga_history', sa.Column('commands', postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column('saga_history', sa.Column('attempt', sa.Integer(), nullable=True))
    op.add_column('saga_history', sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_audit_log_subject', 'audit_log', ['subject', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_subject', table_name='audit_log')
    op.drop_column('saga_history', 'deadline_at')
    op.drop_column('saga_history', 'attempt')
    op.drop_column('saga_history', 'commands')
