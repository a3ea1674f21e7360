"""Repositories over the mapped domain classes, and the keyset-paginated listings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.adapters.orm import MILEAGE_ORDER, fold, listing_condition, listing_counts, vehicles
from app.domain.model import MAX_MILEAGE_KM, Fuel, Reservation, Transmission, Vehicle
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
    """What a sort orders by (ties by id, in the same direction) and how its cursor's value
    reads back."""

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
        MILEAGE_ORDER, False, int, lambda v: MAX_MILEAGE_KM + 1 if v.mileage_km is None else v.mileage_km
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

    @property
    def narrowed(self) -> bool:
        """Whether it filters more than a listing does (whose total is kept by a trigger)."""
        return any(getattr(self, f) is not None for f in _FILTERS)

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
}


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
