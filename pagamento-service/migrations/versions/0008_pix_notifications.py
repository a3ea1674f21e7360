"""pix notifications: a payment keeps the end-to-end id of the Pix that paid it, as the
provider's notification (pix[].endToEndId) names it; unique, so that a Pix settles one
payment, once, whatever the provider repeats. Expand-only: a nullable column and its
unique constraint (payments made through POST /payments have none).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('payments', sa.Column('end_to_end_id', sa.Text(), nullable=True))
    op.create_unique_constraint('payments_end_to_end_id_key', 'payments', ['end_to_end_id'])


def downgrade() -> None:
    op.drop_constraint('payments_end_to_end_id_key', 'payments', type_='unique')
    op.drop_column('payments', 'end_to_end_id')
