"""password resets and the mail queue: a reset's token (its SHA-256 only) and the mail
that carries it, sent by the mail sender (app.adapters.mail). Expand-only: new tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'password_resets',
        sa.Column('token_hash', sa.Text(), nullable=False),
        sa.Column('customer_id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index(op.f('ix_password_resets_customer_id'), 'password_resets', ['customer_id'], unique=False)
    op.create_table(
        'outgoing_mail',
        sa.Column('id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('recipient', sa.Text(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outgoing_mail_due', 'outgoing_mail', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outgoing_mail_due', table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
    op.drop_index(op.f('ix_password_resets_customer_id'), table_name='password_resets')
    op.drop_table('password_resets')
