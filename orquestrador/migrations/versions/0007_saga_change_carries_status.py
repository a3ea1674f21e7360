"""saga change notifications carry the status

The ``saga_changed`` payload becomes ``<transaction id> <status>``, so that a request
waiting for a purchase to reach a status (``?until=AWAITING_PAYMENT``) is woken only when
it does, not at every step on the way.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 00:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _notify_with(payload: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION saga_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('saga_changed', {payload}); RETURN NULL; END $$"
    )


def upgrade() -> None:
    op.execute(_notify_with("NEW.transaction_id::text || ' ' || NEW.status"))


def downgrade() -> None:
    op.execute(_notify_with("NEW.transaction_id::text"))  # as 0006 left it
