"""outbox lease: the sweep claims rows instead of locking them while it publishes
(mercado_shared.messaging.schema.add_outbox_lease says why; expand-only).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.messaging.schema import add_outbox_lease, drop_outbox_lease


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_outbox_lease(op)


def downgrade() -> None:
    drop_outbox_lease(op)
