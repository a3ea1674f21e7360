"""retention of finished purchases: the archive finds them by when they ended (an index
over those with no deadline), and saga_history, append-only, lets the archive delete an
archived purchase's history, and nothing else does (app.service_layer.archive). Expand-only:
an index, built concurrently; the trigger's function refuses exactly what it refused, to
any transaction that has not said it archives.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION saga_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('mercado.archiving', true) = 'on' THEN
                RETURN NULL;  -- the archive, in the transaction that purges what it archived
            END IF;
            RAISE EXCEPTION 'saga_history is append-only: % refused', TG_OP;
        END
        $$;
        """
    )
    with op.get_context().autocommit_block():
        op.create_index(
            'ix_saga_states_ended',
            'saga_states',
            ['updated_at', 'transaction_id'],
            postgresql_where=sa.text('deadline_at IS NULL'),
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    op.drop_index('ix_saga_states_ended', table_name='saga_states')
    op.execute(
        """
        CREATE OR REPLACE FUNCTION saga_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'saga_history is append-only: % refused', TG_OP;
        END
        $$;
        """
    )
