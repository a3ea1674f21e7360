"""Repositories over the mapped domain classes, and the keyset-paginated listings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.adapters.orm import listing_condition, listing_counts, vehicles
from app.domain.model import Reservation, Vehicle
from mercado_shared.ids import is_uuid


class Listing(StrEnum):
    AVAILABLE = "available"
    SOLD = "sold"


@dataclass(frozen=True)
class Position:
    """Where a page starts: after the vehicle with this price and id."""

    price: Decimal
    id: str


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

    def page(self, listing: Listing | None, after: Position | None, limit: int) -> tuple[list[Vehicle], int]:
        name = listing.value if listing else "all"
        query = sa.select(Vehicle).where(listing_condition(name))
        if after is not None:
            query = query.where(
                sa.tuple_(vehicles.c.price, vehicles.c.id)
                > sa.tuple_(sa.literal(after.price), sa.literal(after.id, sa.Uuid(as_uuid=False)))
            )
        rows = list(self.session.scalars(query.order_by(vehicles.c.price, vehicles.c.id).limit(limit)))
        counted = listing_counts.c.listing == name
        total = self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(listing_counts.c.vehicles), 0)).where(counted)
        )
        return rows, int(total or 0)


class ReservationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, reservation: Reservation) -> None:
        self.session.add(reservation)

    def get_for_update(self, transaction_id: str) -> Reservation | None:
        return self.session.get(Reservation, transaction_id, with_for_update=True)
