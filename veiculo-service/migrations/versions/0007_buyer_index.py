"""a buyer's vehicles: a partial index on buyer_id for the customer's LGPD export, which
cliente-service asks for. Expand-only: an index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_vehicles_buyer', 'vehicles', ['buyer_id'], postgresql_where=sa.text('buyer_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_vehicles_buyer', table_name='vehicles')
