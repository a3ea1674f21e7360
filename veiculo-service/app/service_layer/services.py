"""Use cases behind the HTTP API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from app.adapters.repository import Listing, Position
from app.domain.identifiers import plate_key
from app.domain.model import Vehicle
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class NewVehicle:
    brand: str
    model: str
    year: int
    color: str
    price: Decimal
    license_plate: str
    chassi_number: str
    renavam: str


_UNIQUE_CONSTRAINTS = {
    "vehicles_plate_key_key": ("PLATE_ALREADY_REGISTERED", "a vehicle with this plate exists"),
    "vehicles_chassi_number_key": ("CHASSIS_ALREADY_REGISTERED", "a vehicle with this chassis number exists"),
    "vehicles_renavam_key": ("RENAVAM_ALREADY_REGISTERED", "a vehicle with this RENAVAM exists"),
}


def register_vehicle(uow: VeiculoUnitOfWork, new: NewVehicle) -> Vehicle:
    vehicle = Vehicle(
        id=str(uuid.uuid4()),
        brand=new.brand,
        model=new.model,
        year=new.year,
        color=new.color,
        price=new.price,
        license_plate=new.license_plate,
        plate_key=plate_key(new.license_plate),
        chassi_number=new.chassi_number,
        renavam=new.renavam,
    )
    with uow:
        uow.vehicles.add(vehicle)
        try:
            uow.commit()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
            code, message = _UNIQUE_CONSTRAINTS.get(constraint, ("VEHICLE_ALREADY_REGISTERED", "this vehicle exists"))
            raise Conflict(code, message) from None
    return vehicle


def get_vehicle(uow: VeiculoUnitOfWork, vehicle_id: str) -> Vehicle:
    with uow:
        vehicle = uow.vehicles.get(vehicle_id)
    if vehicle is None:
        raise NotFound("VEHICLE_NOT_FOUND", "no such vehicle")
    return vehicle


def list_vehicles(
    uow: VeiculoUnitOfWork, listing: Listing | None, after: Position | None, limit: int
) -> tuple[list[Vehicle], int, Position | None]:
    with uow:
        page, total = uow.vehicles.page(listing, after, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    following = Position(page[-1].price, page[-1].id) if more else None
    return page, total, following
