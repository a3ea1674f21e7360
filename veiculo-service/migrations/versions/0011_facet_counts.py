"""vehicle facet counts: how many vehicles of each listing share a brand, model, year, fuel
and gearbox as written (a cell), and how they spread over the price bands, kept exact by a
trigger as the listings' totals are (0002). Facets whose filters are these dimensions only
(a buyer's first screen, a brand and a fuel) sum a few thousand cells instead of grouping
every vehicle six times: at 100,000 vehicles a facet request read 600,000 rows. Cells are
fine-grained, so two reservations rarely wait on the same row. Expand-only: a table, two
functions and a trigger.

The price bands are those of app.adapters.repository.PRICE_BANDS (a test holds the two to
each other); changing them means a migration that rebuilds the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:10:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PRICE_BANDS = (0, 20_000, 40_000, 60_000, 80_000, 100_000, 150_000, 200_000)
MEMBERSHIP = {
    "all": "TRUE",
    "available": "{r}reserved_by IS NULL AND {r}sold_at IS NULL",
    "sold": "{r}sold_at IS NOT NULL",
}
CELL = ('brand', 'model', 'year', 'fuel', 'transmission')
BAND = "width_bucket({r}price, ARRAY[" + ", ".join(map(str, PRICE_BANDS)) + "]::numeric[])"


def upgrade() -> None:
    op.create_table(
        'vehicle_facet_counts',
        sa.Column('listing', sa.Text(), nullable=False),
        sa.Column('brand', sa.Text(), nullable=False),
        sa.Column('model', sa.Text(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('fuel', sa.Text(), nullable=True),
        sa.Column('transmission', sa.Text(), nullable=True),
        sa.Column('vehicles', sa.BigInteger(), nullable=False),
        sa.Column('price_bands', ARRAY(sa.BigInteger()), nullable=False),
        sa.CheckConstraint('vehicles >= 0', name='ck_vehicle_facet_counts_not_negative'),
    )
    op.create_index(
        'uq_vehicle_facet_counts_cell',
        'vehicle_facet_counts',
        ['listing', *CELL],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    # A brand or a model chosen: its cells, found without folding every cell's name.
    op.execute(
        "CREATE INDEX ix_vehicle_facet_counts_names "
        "ON vehicle_facet_counts (listing, vehicle_fold(brand), vehicle_fold(model))"
    )
    cell = ", ".join(CELL)
    bands = ", ".join(f"count(*) FILTER (WHERE {BAND.format(r='')} = {i})" for i in range(1, len(PRICE_BANDS) + 1))
    for listing, member in MEMBERSHIP.items():
        op.execute(
            f"INSERT INTO vehicle_facet_counts (listing, {cell}, vehicles, price_bands) "
            f"SELECT '{listing}', {cell}, count(*), ARRAY[{bands}] FROM vehicles "
            f"WHERE {member.format(r='')} GROUP BY {cell}"
        )
    op.execute(
        f"""
        CREATE FUNCTION vehicle_facet_add(listing_ text, brand_ text, model_ text, year_ integer, fuel_ text,
                                          transmission_ text, band integer, delta integer) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            bands bigint[] := array_fill(0::bigint, ARRAY[{len(PRICE_BANDS)}]);
        BEGIN
            IF delta < 0 THEN  -- the cell holds the vehicle: an upsert would check the -1 first
                UPDATE vehicle_facet_counts AS c
                SET vehicles = c.vehicles + delta, price_bands[band] = c.price_bands[band] + delta
                WHERE (c.listing, c.brand, c.model, c.year) = (listing_, brand_, model_, year_)
                  AND c.fuel IS NOT DISTINCT FROM fuel_ AND c.transmission IS NOT DISTINCT FROM transmission_;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'vehicle_facet_counts has no cell for a vehicle leaving %', listing_;
                END IF;
                RETURN;
            END IF;
            bands[band] := delta;
            INSERT INTO vehicle_facet_counts AS c (listing, {cell}, vehicles, price_bands)
            VALUES (listing_, brand_, model_, year_, fuel_, transmission_, delta, bands)
            ON CONFLICT (listing, {cell}) DO UPDATE
            SET vehicles = c.vehicles + delta, price_bands[band] = c.price_bands[band] + delta;
        END $$;
        """
    )
    old_cell = ", ".join(f"OLD.{c}" for c in CELL)
    new_cell = ", ".join(f"NEW.{c}" for c in CELL)
    changes = "\n".join(
        f"""
            IF TG_OP <> 'INSERT' AND ({member.format(r='OLD.')}) AND NOT (same AND ({member.format(r='NEW.')})) THEN
                PERFORM vehicle_facet_add('{listing}', {old_cell}, old_band, -1);
            END IF;
            IF TG_OP <> 'DELETE' AND ({member.format(r='NEW.')}) AND NOT (same AND ({member.format(r='OLD.')})) THEN
                PERFORM vehicle_facet_add('{listing}', {new_cell}, new_band, 1);
            END IF;"""
        for listing, member in MEMBERSHIP.items()
    )
    op.execute(
        f"""
        CREATE FUNCTION vehicle_facet_count() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_band integer := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE {BAND.format(r='OLD.')} END;
            new_band integer := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE {BAND.format(r='NEW.')} END;
            same boolean := TG_OP = 'UPDATE' AND ({old_cell}, old_band) IS NOT DISTINCT FROM ({new_cell}, new_band);
        BEGIN
            {changes}
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        f"CREATE TRIGGER vehicles_facet_counts AFTER INSERT OR DELETE OR UPDATE OF {cell}, price, reserved_by, sold_at "
        "ON vehicles FOR EACH ROW EXECUTE FUNCTION vehicle_facet_count()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER vehicles_facet_counts ON vehicles")
    op.execute("DROP FUNCTION vehicle_facet_count()")
    op.execute("DROP FUNCTION vehicle_facet_add(text, text, text, integer, text, text, integer, integer)")
    op.drop_index('ix_vehicle_facet_counts_names', table_name='vehicle_facet_counts')
    op.drop_index('uq_vehicle_facet_counts_cell', table_name='vehicle_facet_counts')
    op.drop_table('vehicle_facet_counts')
