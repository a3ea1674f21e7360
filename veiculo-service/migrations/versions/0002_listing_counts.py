"""listing counts

The listings' ``total`` was a count(*) over every matching vehicle on every page: 17 ms
at 100,000 vehicles, most of a page's time. Counts are now kept by a trigger in
``vehicle_listing_counts``, spread over 16 slots per listing (by vehicle id), so that
concurrent reservations of different vehicles rarely wait on the same row. A page sums
16 rows in its own snapshot, which is exact and transactional.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:05:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SLOTS = 16
MEMBERSHIP = {
    "all": "TRUE",
    "available": "{r}.reserved_by IS NULL AND {r}.sold_at IS NULL",
    "sold": "{r}.sold_at IS NOT NULL",
}


def upgrade() -> None:
    op.create_table(
        'vehicle_listing_counts',
        sa.Column('listing', sa.Text(), nullable=False),
        sa.Column('slot', sa.SmallInteger(), nullable=False),
        sa.Column('vehicles', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('vehicles >= 0', name='ck_vehicle_listing_counts_not_negative'),
        sa.PrimaryKeyConstraint('listing', 'slot'),
    )
    slot = f"abs(hashtext(v.id::text)) % {SLOTS}"
    for listing, member in MEMBERSHIP.items():
        op.execute(
            f"INSERT INTO vehicle_listing_counts (listing, slot, vehicles) "
            f"SELECT '{listing}', s, (SELECT count(*) FROM vehicles v WHERE {slot} = s AND {member.format(r='v')}) "
            f"FROM generate_series(0, {SLOTS - 1}) AS s"
        )
    changes = "\n".join(
        f"""
        IF TG_OP <> 'INSERT' AND ({member.format(r='OLD')}) THEN
            UPDATE vehicle_listing_counts SET vehicles = vehicles - 1 WHERE listing = '{listing}' AND slot = old_slot;
        END IF;
        IF TG_OP <> 'DELETE' AND ({member.format(r='NEW')}) THEN
            UPDATE vehicle_listing_counts SET vehicles = vehicles + 1 WHERE listing = '{listing}' AND slot = new_slot;
        END IF;"""
        for listing, member in MEMBERSHIP.items()
    )
    op.execute(
        f"""
        CREATE FUNCTION vehicle_listing_count() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_slot smallint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE abs(hashtext(OLD.id::text)) % {SLOTS} END;
            new_slot smallint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE abs(hashtext(NEW.id::text)) % {SLOTS} END;
        BEGIN
            {changes}
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER vehicles_listing_counts AFTER INSERT OR DELETE OR UPDATE OF id, reserved_by, sold_at "
        "ON vehicles FOR EACH ROW EXECUTE FUNCTION vehicle_listing_count()"
    )
    # TRUNCATE would skip the row trigger and leave the counts wrong: refuse it.
    op.execute(
        "CREATE FUNCTION vehicles_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'vehicles cannot be truncated: vehicle_listing_counts would be wrong'; END $$"
    )
    op.execute(
        "CREATE TRIGGER vehicles_no_truncate BEFORE TRUNCATE ON vehicles "
        "FOR EACH STATEMENT EXECUTE FUNCTION vehicles_refuse_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER vehicles_no_truncate ON vehicles")
    op.execute("DROP FUNCTION vehicles_refuse_truncate()")
    op.execute("DROP TRIGGER vehicles_listing_counts ON vehicles")
    op.execute("DROP FUNCTION vehicle_listing_count()")
    op.drop_table('vehicle_listing_counts')
