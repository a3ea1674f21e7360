"""payment discrepancies: the provider's notifications of another amount than the code's,
refused and kept for staff (expand-only: a new table nothing older reads).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'payment_discrepancies',
        sa.Column('id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('payment_code', sa.Text(), nullable=False),
        sa.Column('transaction_id', sa.Text(), nullable=False),
        sa.Column('customer_id', sa.Text(), nullable=False),
        sa.Column('expected_amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('notified_amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            'method',
            sa.Enum('pix', name='ck_paymentmethod', native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column('notifications', sa.Integer(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('notified_amount <> expected_amount', name='ck_payment_discrepancies_differ'),
        sa.CheckConstraint('notifications >= 1', name='ck_payment_discrepancies_counted'),
        sa.ForeignKeyConstraint(['payment_code'], ['payment_codes.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('payment_code', 'notified_amount', name='uq_payment_discrepancies_code_amount'),
    )
    op.create_index('ix_payment_discrepancies_first_seen', 'payment_discrepancies', ['first_seen_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_payment_discrepancies_first_seen', table_name='payment_discrepancies')
    op.drop_table('payment_discrepancies')
