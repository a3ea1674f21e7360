"""pix notifications: a payment keeps the end-to-end id of the Pix that paid it, as the
provider's notification (pix[].endToEndId) names it; unique, so that a Pix settles one
payment, once, whatever the provider repeats. Expand-only: a nullable column and its
unique constraint (payments made through POST /payments have none); and a refund as the
provider's devoluções: how many were asked, and whether staff must return the money by
hand (a status REFUNDING, a devolução not yet confirmed, is new text in the status column).

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
    # REFUNDING joins the statuses: the CHECK is widened, never narrowed.
    op.drop_constraint('ck_paymentstatus', 'payments', type_='check')
    op.create_check_constraint('ck_paymentstatus', 'payments', "status IN ('COMPLETED', 'REFUNDING', 'REFUNDED')")
    op.add_column('payments', sa.Column('refund_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column(
        'payments', sa.Column('refund_needs_person', sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column('payments', 'refund_needs_person')
    op.drop_column('payments', 'refund_attempts')
    op.drop_constraint('ck_paymentstatus', 'payments', type_='check')
    op.create_check_constraint('ck_paymentstatus', 'payments', "status IN ('COMPLETED', 'REFUNDED')")
    op.drop_constraint('payments_end_to_end_id_key', 'payments', type_='unique')
    op.drop_column('payments', 'end_to_end_id')
