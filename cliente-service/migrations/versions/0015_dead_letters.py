"""dead letters over HTTP: what failed every delivery is kept here for staff to redrive or
discard (mercado_shared.messaging.dead_letters). Expand-only: a new table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 21:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.messaging.schema import create_dead_letter_table, drop_dead_letter_table


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_dead_letter_table(op)


def downgrade() -> None:
    drop_dead_letter_table(op)
