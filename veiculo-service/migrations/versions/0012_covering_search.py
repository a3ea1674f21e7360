"""covering search indexes: the available listing's order indexes, and a brand-and-model
index of it, carry every column a search filters by (INCLUDE), so that PostgreSQL finds a
page's ids and counts a search's total from the index alone (an index-only scan) instead
of reading each candidate vehicle from the table: at 100,000 vehicles a model, gearbox and
mileage search read 20,000 rows of the table to fill a page of 50. The pages then read
their 50 vehicles by id. Replaces four indexes by wider ones of the same names, and adds
one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:20:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AVAILABLE = 'reserved_by IS NULL AND sold_at IS NULL'
FILTERED = 'brand, model, year, price, fuel, transmission, mileage_km'
ORDERS = {
    'ix_vehicles_available_price_id': 'price, id',
    'ix_vehicles_available_created_id': 'created_at, id',
    'ix_vehicles_available_year_id': 'year, id',
    'ix_vehicles_available_mileage_id': 'coalesce(mileage_km, 2000001), id',
}
BRAND_MODEL = 'ix_vehicles_available_brand_model'


def upgrade() -> None:
    for name, keys in ORDERS.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON vehicles ({keys}) INCLUDE ({FILTERED}) WHERE {AVAILABLE}")
    op.execute(
        f"CREATE INDEX {BRAND_MODEL} ON vehicles (vehicle_fold(brand), vehicle_fold(model)) "
        f"INCLUDE ({FILTERED}) WHERE {AVAILABLE}"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {BRAND_MODEL}")
    for name, keys in ORDERS.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON vehicles ({keys}) WHERE {AVAILABLE}")
