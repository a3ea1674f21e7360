"""a page of a brand or a model from the index alone: the available listing's index by
brand and model also carries each vehicle's id and its date (every order's key), and a
new one leads by the model alone (a buyer searching "onix" names no brand). At 100,000
vehicles a model, gearbox and mileage search read 21,000 entries of the price index to
fill a page of 50, and counted its total from 3,100 pages of the table; from the model's
index it reads 4,100 entries for both.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 14:05:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AVAILABLE = 'reserved_by IS NULL AND sold_at IS NULL'
FILTERED = 'brand, model, year, price, fuel, transmission, mileage_km'
BY_NAME = {
    'ix_vehicles_available_brand_model': 'vehicle_fold(brand), vehicle_fold(model)',
    'ix_vehicles_available_model': 'vehicle_fold(model)',
}


def upgrade() -> None:
    op.execute("DROP INDEX ix_vehicles_available_brand_model")
    for name, keys in BY_NAME.items():
        op.execute(f"CREATE INDEX {name} ON vehicles ({keys}) INCLUDE (id, {FILTERED}, created_at) WHERE {AVAILABLE}")


def downgrade() -> None:
    for name in BY_NAME:
        op.execute(f"DROP INDEX {name}")
    op.execute(
        f"CREATE INDEX ix_vehicles_available_brand_model ON vehicles "
        f"({BY_NAME['ix_vehicles_available_brand_model']}) INCLUDE ({FILTERED}) WHERE {AVAILABLE}"
    )
