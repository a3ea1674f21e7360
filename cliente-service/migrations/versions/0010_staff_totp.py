"""staff TOTP: named staff sign in with a second factor; its secret is encrypted like
personal data, and the last code's time step is kept so a code is good once.
Expand-only: nullable columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('staff', sa.Column('totp_secret', sa.Text(), nullable=True))
    op.add_column('staff', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('staff', 'totp_last_step')
    op.drop_column('staff', 'totp_secret')
