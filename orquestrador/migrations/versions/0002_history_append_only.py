"""saga_history is append-only: the database refuses to change or delete an entry.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION saga_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'saga_history is append-only: % refused', TG_OP;
        END
        $$;
        CREATE TRIGGER saga_history_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON saga_history
            FOR EACH STATEMENT EXECUTE FUNCTION saga_history_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER saga_history_append_only ON saga_history")
    op.execute("DROP FUNCTION saga_history_append_only()")
