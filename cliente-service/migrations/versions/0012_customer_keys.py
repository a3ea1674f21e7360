"""customer keys: each customer's personal fields are also sealed under a key of its own,
bound by associated data to table, column and row (``customers.email.<id>``); the key is
destroyed at erasure (crypto-shredding). Expand-only: a table and nullable columns; the
v1 columns stay, written as before, for the revision before this one.

That revision changes v1 values without knowing the sealed copies; the trigger clears a
sealed copy whose v1 value changed without it, so a stale copy is never read (the row is
then read from v1 and sealed again at its next write, or by ``python -m app.adapters.keys
seal``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FIELDS = ("name", "email", "phone", "document")
_CLEAR = "\n".join(
    f"    IF NEW.{f} IS DISTINCT FROM OLD.{f} AND NEW.sealed_{f} IS NOT DISTINCT FROM OLD.sealed_{f} THEN\n"
    f"        NEW.sealed_{f} := NULL;\n"
    "    END IF;"
    for f in FIELDS
)


def upgrade() -> None:
    op.create_table(
        'customer_keys',
        sa.Column('customer_id', sa.Uuid(as_uuid=False), nullable=False),
        sa.Column('wrapped', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('customer_id'),
    )
    for field in FIELDS:
        op.add_column('customers', sa.Column(f'sealed_{field}', sa.Text(), nullable=True))
    op.execute(
        "CREATE FUNCTION customers_clear_stale_sealed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{_CLEAR}\n    RETURN NEW;\nEND $$"
    )
    op.execute(
        "CREATE TRIGGER customers_clear_stale_sealed BEFORE UPDATE ON customers "
        "FOR EACH ROW EXECUTE FUNCTION customers_clear_stale_sealed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER customers_clear_stale_sealed ON customers")
    op.execute("DROP FUNCTION customers_clear_stale_sealed()")
    for field in FIELDS:
        op.drop_column('customers', f'sealed_{field}')
    op.drop_table('customer_keys')
