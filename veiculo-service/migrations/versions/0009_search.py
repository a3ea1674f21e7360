"""vehicle search: brand and model compared without case or accents (vehicle_fold, an
immutable SQL function, so that an index can hold it), and an index per order of the
available listing (newest, year, mileage; price has its own). Expand-only: a function and
indexes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ACCENTED = 'ÁÀÂÃÄÅÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑÝáàâãäåéèêëíìîïóòôõöúùûüçñýÿ'
PLAIN = 'AAAAAAEEEEIIIIOOOOOUUUUCNYaaaaaaeeeeiiiiooooouuuucnyy'
AVAILABLE = 'reserved_by IS NULL AND sold_at IS NULL'


def upgrade() -> None:
    op.execute(
        f"CREATE FUNCTION vehicle_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
        f" AS $$ SELECT lower(translate($1, '{ACCENTED}', '{PLAIN}')) $$"
    )
    op.execute("CREATE INDEX ix_vehicles_brand_model_folded ON vehicles (vehicle_fold(brand), vehicle_fold(model))")
    op.create_index(
        'ix_vehicles_available_created_id', 'vehicles', ['created_at', 'id'], postgresql_where=sa.text(AVAILABLE)
    )
    op.create_index('ix_vehicles_available_year_id', 'vehicles', ['year', 'id'], postgresql_where=sa.text(AVAILABLE))
    op.execute(
        "CREATE INDEX ix_vehicles_available_mileage_id ON vehicles (coalesce(mileage_km, 2000001), id)"
        f" WHERE {AVAILABLE}"
    )


def downgrade() -> None:
    for index in (
        'ix_vehicles_available_mileage_id',
        'ix_vehicles_available_year_id',
        'ix_vehicles_available_created_id',
        'ix_vehicles_brand_model_folded',
    ):
        op.drop_index(index, table_name='vehicles')
    op.execute("DROP FUNCTION vehicle_fold(text)")
