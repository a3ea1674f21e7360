"""purchase notices: what the buyer hears of a purchase by e-mail (app.service_layer.notices).
A mail may carry an HTML alternative and a QR shown inline (both encrypted, as its body
is), the purchase it is about (a reminder still queued when the purchase ends is
dropped), and whether, undelivered by its deadline, it is kept as a dead letter (a receipt)
rather than dropped (a link or a code that no longer works); and purchase_notices remembers which notice of a purchase was decided, so that
each is sent once. Expand-only: new columns (nullable or defaulted) and a table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 19:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('outgoing_mail', sa.Column('html', sa.Text(), nullable=True))
    op.add_column('outgoing_mail', sa.Column('qr', sa.Text(), nullable=True))
    op.add_column('outgoing_mail', sa.Column('transaction_id', sa.Text(), nullable=True))
    op.add_column(
        'outgoing_mail', sa.Column('dead_letter', sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column('outgoing_mail', sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'purchase_notices',
        sa.Column('transaction_id', sa.Text(), nullable=False),
        sa.Column('kind', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('transaction_id', 'kind'),
    )


def downgrade() -> None:
    op.drop_table('purchase_notices')
    op.drop_column('outgoing_mail', 'dead_at')
    op.drop_column('outgoing_mail', 'dead_letter')
    op.drop_column('outgoing_mail', 'transaction_id')
    op.drop_column('outgoing_mail', 'qr')
    op.drop_column('outgoing_mail', 'html')
