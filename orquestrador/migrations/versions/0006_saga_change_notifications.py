"""saga change notifications

Every change of a saga's state NOTIFYs channel ``saga_changed`` with its transaction id
(delivered at commit, to every listening instance), so that ``GET /saga-states/{id}
?changed_after=…&wait=…`` answers the moment the purchase moves instead of being polled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 22:15:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION saga_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_notify('saga_changed', NEW.transaction_id::text); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER saga_states_changed AFTER INSERT OR UPDATE ON saga_states "
        "FOR EACH ROW EXECUTE FUNCTION saga_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER saga_states_changed ON saga_states")
    op.execute("DROP FUNCTION saga_changed()")
