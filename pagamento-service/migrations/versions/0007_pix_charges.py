"""pix charges: each payment code is a Pix charge at the provider (its txid is the code);
the code keeps the charge's location, which its dynamic BR Code carries. Expand-only: a
nullable column (codes from before have none, and show no BR Code).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('payment_codes', sa.Column('pix_location', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('payment_codes', 'pix_location')
