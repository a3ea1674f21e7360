"""Repositories over the mapped domain classes, and the keyset-paginated listings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.adapters.orm import (
    DOCUMENT,
    MILEAGE_ORDER,
    UNKNOWN_MILEAGE,
    fold,
    listing_condition,
    listing_counts,
    text_query,
    vehicles,
)
from app.domain.model import Fuel, Reservation, Transmission, Vehicle
from mercado_shared.ids import is_uuid


class Listing(StrEnum):
    AVAILABLE = "available"
    SOLD = "sold"


class Sort(StrEnum):
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"
    YEAR_DESC = "year_desc"
    MILEAGE_ASC = "mileage_asc"


@dataclass(frozen=True)
class Order:
    """What a sort orders by (ties by id, in the same direction), how its cursor's value
    reads back, and a vehicle's value of it."""

    key: sa.ColumnElement[Any]
    descending: bool
    parse: Callable[[str], object]
    value: Callable[[Vehicle], object]


ORDERS: dict[Sort, Order] = {
    Sort.PRICE_ASC: Order(vehicles.c.price, False, Decimal, lambda v: v.price),
    Sort.PRICE_DESC: Order(vehicles.c.price, True, Decimal, lambda v: v.price),
    Sort.NEWEST: Order(vehicles.c.created_at, True, datetime.fromisoformat, lambda v: v.created_at),
    Sort.YEAR_DESC: Order(vehicles.c.year, True, int, lambda v: v.year),
    Sort.MILEAGE_ASC: Order(
        MILEAGE_ORDER, False, int, lambda v: UNKNOWN_MILEAGE if v.mileage_km is None else v.mileage_km
    ),
}


@dataclass(frozen=True)
class Position:
    """Where a page starts: after the vehicle with this sort value and id."""

    sort: Sort
    value: object
    id: str

    @classmethod
    def after(cls, sort: Sort, vehicle: Vehicle) -> Position:
        return cls(sort, ORDERS[sort].value(vehicle), vehicle.id)


@dataclass(frozen=True)
class Search:
    """A buyer's filters; None is "any". Brand and model match without case or accents."""

    listing: Listing | None = None
    brand: str | None = None
    model: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    mileage_max: int | None = None
    fuel: Fuel | None = None
    transmission: Transmission | None = None
    words: tuple[str, ...] | None = None  # free text: every word, or one it begins

    @property
    def narrowed(self) -> bool:
        """Whether it filters more than a listing does (whose total is kept by a trigger)."""
        return any(getattr(self, f) is not None for f in _FILTERS)

    def without(self, *names: str) -> Search:
        """The same search, not filtered by ``names`` (a facet counts ignoring its own)."""
        return replace(self, **dict.fromkeys(names))

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = [listing_condition(self.listing.value if self.listing else "all")]
        for name, condition in _FILTERS.items():
            value = getattr(self, name)
            if value is not None:
                found.append(condition(value))
        return found


_FILTERS: dict[str, Callable[[Any], sa.ColumnElement[bool]]] = {
    "brand": lambda v: fold(vehicles.c.brand) == fold(sa.literal(v, sa.Text)),
    "model": lambda v: fold(vehicles.c.model) == fold(sa.literal(v, sa.Text)),
    "year_min": lambda v: vehicles.c.year >= v,
    "year_max": lambda v: vehicles.c.year <= v,
    "price_min": lambda v: vehicles.c.price >= v,
    "price_max": lambda v: vehicles.c.price <= v,
    "mileage_max": lambda v: vehicles.c.mileage_km <= v,  # an unknown mileage is not known to be low
    "fuel": lambda v: vehicles.c.fuel == v,
    "transmission": lambda v: vehicles.c.transmission == v,
    "words": lambda v: DOCUMENT.op("@@")(text_query(list(v))),
}
# The filters each facet ignores: its own.
_FACET_FILTERS = {
    "brand": ("brand",),
    "model": ("model",),
    "year": ("year_min", "year_max"),
    "fuel": ("fuel",),
    "transmission": ("transmission",),
    "price": ("price_min", "price_max"),
}


# Price bands a buyer narrows by (R$): each from its bound to the next; the last is open.
PRICE_BANDS = (0, 20_000, 40_000, 60_000, 80_000, 100_000, 150_000, 200_000)


@dataclass(frozen=True)
class Facets:
    """How many vehicles each value would find, under the search's other filters."""

    brand: list[tuple[str, int]]
    model: list[tuple[str, int]]  # within the chosen brand; none without one
    year: list[tuple[int, int]]
    fuel: list[tuple[str, int]]
    transmission: list[tuple[str, int]]
    price: list[tuple[int, int | None, int]]  # band's low, high (None: open), vehicles


class VehicleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, vehicle: Vehicle) -> None:
        self.session.add(vehicle)

    def get(self, vehicle_id: str) -> Vehicle | None:
        return self.session.get(Vehicle, vehicle_id) if is_uuid(vehicle_id) else None

    def bought_by(self, customer_id: str) -> list[Vehicle]:
        query = sa.select(Vehicle).where(vehicles.c.buyer_id == customer_id)
        return list(self.session.scalars(query.order_by(vehicles.c.sold_at, vehicles.c.id)))

    def get_for_update(self, vehicle_id: str) -> Vehicle | None:
        if not is_uuid(vehicle_id):
            return None
        return self.session.get(Vehicle, vehicle_id, with_for_update=True)

    def page(self, search: Search, sort: Sort, after: Position | None, limit: int) -> tuple[list[Vehicle], int]:
        """A page in ``sort``'s order after ``after``, and how many vehicles the search finds."""
        conditions = search.conditions()
        order = ORDERS[sort]
        query = sa.select(Vehicle).where(*conditions)
        if after is not None:
            here = sa.tuple_(order.key, vehicles.c.id)
            there = sa.tuple_(sa.literal(after.value, order.key.type), sa.literal(after.id, sa.Uuid(as_uuid=False)))
            query = query.where(here < there if order.descending else here > there)
        ordering = (order.key.desc(), vehicles.c.id.desc()) if order.descending else (order.key, vehicles.c.id)
        rows = list(self.session.scalars(query.order_by(*ordering).limit(limit)))
        return rows, self._total(search, conditions)

    def facets(self, search: Search) -> Facets:
        def counts(dimension: str, key: sa.ColumnElement[Any], label: sa.ColumnElement[Any]) -> list[Any]:
            query = (
                sa.select(label, sa.func.count())
                .where(key.is_not(None), *search.without(*_FACET_FILTERS[dimension]).conditions())
                .group_by(key)
                .order_by(sa.func.count().desc(), label)
            )
            return [tuple(row) for row in self.session.execute(query.limit(100))]

        def names(dimension: str, column: sa.ColumnElement[str]) -> list[tuple[str, int]]:
            """Counted by the name as written (a plain grouping, no function per row), then
            merged by the name without case or accents, shown as most often written."""
            written = (
                sa.select(column.label("name"), sa.func.count().label("n"))
                .where(*search.without(*_FACET_FILTERS[dimension]).conditions())
                .group_by(column)
                .subquery()
            )
            merged: dict[str, tuple[int, str, int]] = {}  # folded -> total, label, the label's count
            for key, name, n in self.session.execute(sa.select(fold(written.c.name), written.c.name, written.c.n)):
                total, label, most = merged.get(key, (0, name, 0))
                if n > most or (n == most and name < label):
                    label, most = name, n
                merged[key] = (total + n, label, most)
            return sorted(((label, total) for total, label, _ in merged.values()), key=lambda p: (-p[1], p[0]))[:100]

        band = sa.func.width_bucket(vehicles.c.price, sa.literal(list(PRICE_BANDS), ARRAY(sa.Numeric)))
        bands = counts("price", band, band)
        return Facets(
            brand=names("brand", vehicles.c.brand),
            model=names("model", vehicles.c.model) if search.brand else [],
            year=sorted(counts("year", vehicles.c.year, vehicles.c.year), reverse=True),
            fuel=counts("fuel", vehicles.c.fuel, vehicles.c.fuel),
            transmission=counts("transmission", vehicles.c.transmission, vehicles.c.transmission),
            price=sorted((PRICE_BANDS[i - 1], PRICE_BANDS[i] if i < len(PRICE_BANDS) else None, n) for i, n in bands),
        )

    def _total(self, search: Search, conditions: list[sa.ColumnElement[bool]]) -> int:
        if search.narrowed:
            return int(self.session.scalar(sa.select(sa.func.count()).select_from(vehicles).where(*conditions)) or 0)
        listing = search.listing.value if search.listing else "all"
        kept = sa.select(sa.func.coalesce(sa.func.sum(listing_counts.c.vehicles), 0))
        return int(self.session.scalar(kept.where(listing_counts.c.listing == listing)) or 0)


class ReservationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, reservation: Reservation) -> None:
        self.session.add(reservation)

    def get_for_update(self, transaction_id: str) -> Reservation | None:
        return self.session.get(Reservation, transaction_id, with_for_update=True)
