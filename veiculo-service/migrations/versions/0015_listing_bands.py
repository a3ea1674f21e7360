"""listing bands: how many vehicles of each listing lie in each price band, kept exact by
a trigger as the listings' totals are (0002), spread over the same 16 slots per listing.
The price facet of a search filtered by nothing else (a buyer's first screen, a price
range alone) summed the bands of all 8,640 facet cells of its listing at 100,000
vehicles (5–9 ms); it now sums 128 rows. Expand-only: a table, a function and a trigger.

The bands are those of app.adapters.repository.PRICE_BANDS, as in 0011 (a test holds the
trigger to them).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SLOTS = 16
PRICE_BANDS = (0, 20_000, 40_000, 60_000, 80_000, 100_000, 150_000, 200_000)
MEMBERSHIP = {
    "all": "TRUE",
    "available": "{r}reserved_by IS NULL AND {r}sold_at IS NULL",
    "sold": "{r}sold_at IS NOT NULL",
}
BAND = "width_bucket({r}price, ARRAY[" + ", ".join(map(str, PRICE_BANDS)) + "]::numeric[])"
SLOT = "abs(hashtext({r}id::text)) % " + str(SLOTS)


def upgrade() -> None:
    op.create_table(
        'vehicle_listing_bands',
        sa.Column('listing', sa.Text(), nullable=False),
        sa.Column('slot', sa.SmallInteger(), nullable=False),
        sa.Column('band', sa.SmallInteger(), nullable=False),
        sa.Column('vehicles', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('vehicles >= 0', name='ck_vehicle_listing_bands_not_negative'),
        sa.PrimaryKeyConstraint('listing', 'slot', 'band'),
    )
    # Every (listing, slot, band) has its row from the start: the trigger only updates.
    for listing, member in MEMBERSHIP.items():
        op.execute(
            f"INSERT INTO vehicle_listing_bands (listing, slot, band, vehicles) "
            f"SELECT '{listing}', s, b, (SELECT count(*) FROM vehicles WHERE {SLOT.format(r='')} = s "
            f"AND {BAND.format(r='')} = b AND {member.format(r='')}) "
            f"FROM generate_series(0, {SLOTS - 1}) AS s, generate_series(1, {len(PRICE_BANDS)}) AS b"
        )
    changes = "\n".join(
        f"""
            IF TG_OP <> 'INSERT' AND ({member.format(r='OLD.')}) AND NOT (same AND ({member.format(r='NEW.')})) THEN
                UPDATE vehicle_listing_bands SET vehicles = vehicles - 1
                WHERE listing = '{listing}' AND slot = old_slot AND band = old_band;
            END IF;
            IF TG_OP <> 'DELETE' AND ({member.format(r='NEW.')}) AND NOT (same AND ({member.format(r='OLD.')})) THEN
                UPDATE vehicle_listing_bands SET vehicles = vehicles + 1
                WHERE listing = '{listing}' AND slot = new_slot AND band = new_band;
            END IF;"""
        for listing, member in MEMBERSHIP.items()
    )
    op.execute(
        f"""
        CREATE FUNCTION vehicle_listing_band() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_slot smallint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE {SLOT.format(r='OLD.')} END;
            new_slot smallint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE {SLOT.format(r='NEW.')} END;
            old_band smallint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE {BAND.format(r='OLD.')} END;
            new_band smallint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE {BAND.format(r='NEW.')} END;
            same boolean := TG_OP = 'UPDATE' AND (old_slot, old_band) = (new_slot, new_band);
        BEGIN
            {changes}
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER vehicles_listing_bands AFTER INSERT OR DELETE OR UPDATE OF id, price, reserved_by, sold_at "
        "ON vehicles FOR EACH ROW EXECUTE FUNCTION vehicle_listing_band()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER vehicles_listing_bands ON vehicles")
    op.execute("DROP FUNCTION vehicle_listing_band()")
    op.drop_table('vehicle_listing_bands')
