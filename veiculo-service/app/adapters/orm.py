"""Tables of veiculo-service and their mapping onto the domain classes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import registry

from app.domain.model import (
    DESCRIPTION_MAX,
    DOORS,
    MAX_MILEAGE_KM,
    VERSION_MAX,
    Feature,
    Fuel,
    Photo,
    PhotoStatus,
    Reservation,
    ReservationStatus,
    Transmission,
    Vehicle,
)
from mercado_shared.db import str_enum, timestamp_columns
from mercado_shared.messaging.schema import messaging_tables

metadata = sa.MetaData()
_DOCUMENT_OF_ROW = "vehicle_document(brand, model, version, description)"
mapper_registry = registry(metadata=metadata)
MONEY = sa.Numeric(14, 2)


vehicles = sa.Table(
    "vehicles",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("brand", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("color", sa.Text, nullable=False),
    sa.Column("price", MONEY, nullable=False),
    sa.Column("license_plate", sa.Text, nullable=False),
    sa.Column("plate_key", sa.Text, nullable=False, unique=True),
    sa.Column("chassi_number", sa.Text, nullable=False, unique=True),
    sa.Column("renavam", sa.Text, nullable=False, unique=True),
    sa.Column("mileage_km", sa.Integer, nullable=True),
    sa.Column("fuel", str_enum(Fuel), nullable=True),
    sa.Column("transmission", str_enum(Transmission), nullable=True),
    sa.Column("version", sa.Text, nullable=True),
    sa.Column("doors", sa.SmallInteger, nullable=True),
    sa.Column("features", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("reserved_by", sa.Text, nullable=True),
    sa.Column("sold_transaction_id", sa.Text, nullable=True),
    sa.Column("buyer_id", sa.Text, nullable=True),
    sa.Column("sold_price", MONEY, nullable=True),
    sa.Column("sold_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
    *timestamp_columns(),
    # What a text search reads of a vehicle (vehicle_document: migration 0010), kept in the
    # row (migration 0016): a search that finds many walks its order's index and reads it
    # from each vehicle it passes, where it used to work it out from the text each time.
    sa.Column("document", TSVECTOR, sa.Computed(_DOCUMENT_OF_ROW, persisted=True), nullable=True),
    sa.CheckConstraint("price > 0", name="ck_vehicles_price_positive"),
    sa.CheckConstraint("year BETWEEN 1900 AND 2100", name="ck_vehicles_year_range"),
    sa.CheckConstraint(f"mileage_km BETWEEN 0 AND {MAX_MILEAGE_KM}", name="ck_vehicles_mileage_range"),
    sa.CheckConstraint(f"doors IN ({', '.join(map(str, DOORS))})", name="ck_vehicles_doors"),
    sa.CheckConstraint(f"char_length(version) BETWEEN 1 AND {VERSION_MAX}", name="ck_vehicles_version_length"),
    sa.CheckConstraint(
        f"char_length(description) BETWEEN 1 AND {DESCRIPTION_MAX}", name="ck_vehicles_description_length"
    ),
    sa.CheckConstraint(
        "features <@ ARRAY[" + ", ".join(f"'{f.value}'" for f in Feature) + "]::text[]", name="ck_vehicles_features"
    ),
    sa.CheckConstraint(
        "(sold_at IS NULL) = (sold_transaction_id IS NULL) "
        "AND (sold_at IS NULL) = (buyer_id IS NULL) AND (sold_at IS NULL) = (sold_price IS NULL)",
        name="ck_vehicles_sale_complete",
    ),
    sa.CheckConstraint(
        "NOT (reserved_by IS NOT NULL AND sold_at IS NOT NULL)", name="ck_vehicles_not_reserved_and_sold"
    ),
    sa.CheckConstraint("picked_up_at IS NULL OR sold_at IS NOT NULL", name="ck_vehicles_pickup_after_sale"),
)
# A buyer's vehicles, for its LGPD export; only sold vehicles are in it.
sa.Index("ix_vehicles_buyer", vehicles.c.buyer_id, postgresql_where=vehicles.c.buyer_id.is_not(None))

# What puts a vehicle in each listing, as SQL over a row ({r} is "" or "OLD." / "NEW."):
# said once, here. The listings' filters (adapters.repository), their partial indexes below
# and the trigger that keeps their totals (migration 0002; tests/integration/test_listings
# holds the trigger to these) all read it. Vehicle.is_available is the same rule in Python.
LISTING_MEMBERSHIP = {
    "all": "TRUE",
    "available": "{r}reserved_by IS NULL AND {r}sold_at IS NULL",
    "sold": "{r}sold_at IS NOT NULL",
}


def listing_condition(listing: str) -> sa.ColumnElement[bool]:
    return sa.and_(sa.text(LISTING_MEMBERSHIP[listing].format(r="vehicles.")))


def fold(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """Text without case or accents, as a search compares it (vehicle_fold: migration 0009)."""
    return sa.func.vehicle_fold(text, type_=sa.Text)


# Unknown mileage sorts after every known one.
UNKNOWN_MILEAGE = MAX_MILEAGE_KM + 1
MILEAGE_ORDER = sa.func.coalesce(vehicles.c.mileage_km, UNKNOWN_MILEAGE, type_=sa.Integer)

# Keyset pagination of the listings: ordered by (price, id), each filter its own index; the
# other orders of the available listing (what buyers browse) have theirs. Those of the
# available listing carry every column a search filters by, so that a page's ids and a
# search's total come from the index alone (migration 0012). Its indexes by name (a brand
# and its model; a model alone) also carry the id and every order's key, so that a page
# of a brand or a model is sorted from the index alone (migration 0014).
sa.Index("ix_vehicles_price_id", vehicles.c.price, vehicles.c.id)
sa.Index(
    "ix_vehicles_sold_price_id",
    vehicles.c.price,
    vehicles.c.id,
    postgresql_where=sa.text(LISTING_MEMBERSHIP["sold"].format(r="")),
)
_AVAILABLE = sa.text(LISTING_MEMBERSHIP["available"].format(r=""))
_FILTERED = ["brand", "model", "year", "price", "fuel", "transmission", "mileage_km"]
for _name, *_keys in (
    ("ix_vehicles_available_price_id", vehicles.c.price, vehicles.c.id),
    ("ix_vehicles_available_created_id", vehicles.c.created_at, vehicles.c.id),
    ("ix_vehicles_available_year_id", vehicles.c.year, vehicles.c.id),
    ("ix_vehicles_available_mileage_id", MILEAGE_ORDER, vehicles.c.id),
):
    sa.Index(_name, *_keys, postgresql_where=_AVAILABLE, postgresql_include=_FILTERED)
for _name, *_keys in (
    ("ix_vehicles_available_brand_model", fold(vehicles.c.brand), fold(vehicles.c.model)),
    ("ix_vehicles_available_model", fold(vehicles.c.model)),
):
    sa.Index(_name, *_keys, postgresql_where=_AVAILABLE, postgresql_include=["id", *_FILTERED, "created_at"])
sa.Index("ix_vehicles_brand_model_folded", fold(vehicles.c.brand), fold(vehicles.c.model))

# A text search's index, over the document each row keeps (migration 0016).
DOCUMENT = vehicles.c.document
sa.Index("ix_vehicles_text", DOCUMENT, postgresql_using="gin")
# The index over the same document worked out from the text (migration 0010), which the
# revision before 0016 still asks while a release rolls out or back. Drop it in the next
# release (docs/operations.md, "Migrations only expand").
sa.Index(
    "ix_vehicles_document",
    sa.func.vehicle_document(vehicles.c.brand, vehicles.c.model, vehicles.c.version, vehicles.c.description),
    postgresql_using="gin",
)


def text_query(words: list[str]) -> sa.ColumnElement[Any]:
    """Every word, or a word it begins (volks finds Volkswagen), in Portuguese without
    accents: each word is one parameter, folded and stemmed by PostgreSQL, never parsed as
    query syntax."""
    terms = [
        sa.func.to_tsquery(
            sa.literal_column("'portuguese'::regconfig"), sa.func.vehicle_fold(sa.literal(word, sa.Text)) + ":*"
        )
        for word in words
    ]
    query: sa.ColumnElement[Any] = terms[0]
    for term in terms[1:]:
        query = query.op("&&")(term)
    return query


# How many vehicles each listing ("all", "available", "sold") holds, kept exact by a
# trigger (migration 0002) in 16 slots per listing; a listing's total is their sum.
listing_counts = sa.Table(
    "vehicle_listing_counts",
    metadata,
    sa.Column("listing", sa.Text, primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("vehicles", sa.BigInteger, nullable=False),
    sa.CheckConstraint("vehicles >= 0", name="ck_vehicle_listing_counts_not_negative"),
)

# How many vehicles of each listing lie in each price band (repository.PRICE_BANDS), over
# the same slots, kept exact by a trigger (migration 0015): the price facet of a search
# filtered by nothing else sums these instead of every facet cell of the listing.
listing_bands = sa.Table(
    "vehicle_listing_bands",
    metadata,
    sa.Column("listing", sa.Text, primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("band", sa.SmallInteger, primary_key=True),
    sa.Column("vehicles", sa.BigInteger, nullable=False),
    sa.CheckConstraint("vehicles >= 0", name="ck_vehicle_listing_bands_not_negative"),
)

# How many vehicles of each listing share a brand, model, year, fuel and gearbox as written
# (a cell), in all and per price band (repository.PRICE_BANDS), kept exact by a trigger
# (migration 0011): facets under those filters sum cells instead of grouping every vehicle.
facet_counts = sa.Table(
    "vehicle_facet_counts",
    metadata,
    sa.Column("listing", sa.Text, nullable=False),
    sa.Column("brand", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("fuel", sa.Text, nullable=True),
    sa.Column("transmission", sa.Text, nullable=True),
    sa.Column("vehicles", sa.BigInteger, nullable=False),
    sa.Column("price_bands", ARRAY(sa.BigInteger), nullable=False),
    sa.CheckConstraint("vehicles >= 0", name="ck_vehicle_facet_counts_not_negative"),
)
sa.Index(
    "uq_vehicle_facet_counts_cell",
    *(facet_counts.c[name] for name in ("listing", "brand", "model", "year", "fuel", "transmission")),
    unique=True,
    postgresql_nulls_not_distinct=True,
)
sa.Index(
    "ix_vehicle_facet_counts_names", facet_counts.c.listing, fold(facet_counts.c.brand), fold(facet_counts.c.model)
)

reservations = sa.Table(
    "vehicle_reservations",
    metadata,
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("vehicle_id", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("status", str_enum(ReservationStatus), nullable=False),
    *timestamp_columns(),
)
# At most one live reservation or sale per vehicle, whatever the code does.
sa.Index(
    "uq_vehicle_reservations_one_live",
    reservations.c.vehicle_id,
    unique=True,
    postgresql_where=sa.text("status IN ('RESERVED', 'SOLD')"),
)

# Photos of a vehicle: uploading (a signed URL handed out) or ready (checked, published,
# placed in its gallery: position 0 is the cover).
photos = sa.Table(
    "vehicle_photos",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("vehicle_id", sa.Uuid(as_uuid=False), sa.ForeignKey("vehicles.id"), nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("status", str_enum(PhotoStatus), nullable=False),
    sa.Column("position", sa.Integer, nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    *timestamp_columns(),
    sa.CheckConstraint(
        "(status = 'READY') = (position IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL)",
        name="ck_vehicle_photos_ready_placed",
    ),
)
# A gallery in order, and a page's covers (its first photo); one photo per place.
sa.Index(
    "uq_vehicle_photos_position",
    photos.c.vehicle_id,
    photos.c.position,
    unique=True,
    postgresql_where=photos.c.position.is_not(None),
)
# Uploads never confirmed, oldest first, for the sweep that removes them.
sa.Index("ix_vehicle_photos_uploading", photos.c.created_at, postgresql_where=sa.text("status = 'UPLOADING'"))
sa.Index("ix_vehicle_photos_vehicle", photos.c.vehicle_id)

messaging = messaging_tables(metadata)


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    # A vehicle's search document is the database's, never read or written as an attribute.
    mapper_registry.map_imperatively(Vehicle, vehicles, eager_defaults=True, exclude_properties=["document"])
    mapper_registry.map_imperatively(Reservation, reservations, eager_defaults=True)
    mapper_registry.map_imperatively(Photo, photos, eager_defaults=True)
