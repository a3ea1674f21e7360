"""audit log: what staff change, who, when and from where; append-only, the database
refuses to change or delete an entry (mercado_shared.audit). Expand-only: a new table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00
"""
from typing import Sequence, Union

from alembic import op

from mercado_shared.audit import create_audit_table, drop_audit_table


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_audit_table(op)


def downgrade() -> None:
    drop_audit_table(op)
