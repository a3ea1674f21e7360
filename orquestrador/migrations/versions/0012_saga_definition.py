"""saga definitions: each purchase records the version of the saga definition it started
under and runs under it (app.domain.saga.DEFINITIONS). Expand-only: a column whose
default, 1, is the only version there was; the revision before this one never writes it,
and what it starts runs that version.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('saga_states', sa.Column('definition', sa.Integer(), server_default='1', nullable=False))
    op.create_check_constraint('ck_saga_states_definition_positive', 'saga_states', 'definition >= 1')


def downgrade() -> None:
    op.drop_constraint('ck_saga_states_definition_positive', 'saga_states', type_='check')
    op.drop_column('saga_states', 'definition')
