"""vehicle text search: what a buyer types, over brand, model, version and description, in
Portuguese (stemmed, stop words dropped) without accents or case, through a GIN index of
the same expression the search asks (vehicle_document). Expand-only: a function and an
index. The function names vehicle_fold with its schema: pg_dump and a restore evaluate it
with an empty search_path, where an unqualified name is not found (and a backup would fail).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION vehicle_document(brand text, model text, version text, description text) RETURNS tsvector"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector('portuguese'::regconfig, public.vehicle_fold("
        "concat_ws(' ', brand, model, version, description))) $$"
    )
    op.execute(
        "CREATE INDEX ix_vehicles_document ON vehicles USING gin (vehicle_document(brand, model, version, description))"
    )


def downgrade() -> None:
    op.drop_index('ix_vehicles_document', table_name='vehicles')
    op.execute("DROP FUNCTION vehicle_document(text, text, text, text)")
