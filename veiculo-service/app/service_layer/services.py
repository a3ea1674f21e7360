"""Use cases behind the HTTP API."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from app.adapters.repository import Facets, Listed, Position, Search, Sort
from app.domain.identifiers import plate_key
from app.domain.model import (
    Fuel,
    NotSold,
    Photo,
    PickedUpAlready,
    PriceLocked,
    Transmission,
    Vehicle,
    VehicleSoldAlready,
    model_year_allowed,
)
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.errors import Conflict, NotFound, Unprocessable


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
    mileage_km: int | None = None
    fuel: Fuel | None = None
    transmission: Transmission | None = None
    version: str | None = None
    doors: int | None = None
    features: list[str] = field(default_factory=list)
    description: str | None = None


_UNIQUE_CONSTRAINTS = {
    "vehicles_plate_key_key": ("PLATE_ALREADY_REGISTERED", "a vehicle with this plate exists"),
    "vehicles_chassi_number_key": ("CHASSIS_ALREADY_REGISTERED", "a vehicle with this chassis number exists"),
    "vehicles_renavam_key": ("RENAVAM_ALREADY_REGISTERED", "a vehicle with this RENAVAM exists"),
}


def _check_year(year: object, now: datetime) -> None:
    if isinstance(year, int) and not model_year_allowed(year, now):
        raise Unprocessable("INVALID_YEAR", "the year must be between 1900 and next year")


def register_vehicle(uow: VeiculoUnitOfWork, new: NewVehicle, now: datetime) -> Vehicle:
    _check_year(new.year, now)
    vehicle = Vehicle(id=str(uuid.uuid4()), plate_key=plate_key(new.license_plate), **asdict(new))
    with uow:
        uow.vehicles.add(vehicle)
        _flush(uow)
        uow.audit("vehicle.registered", vehicle.id, price=vehicle.price)
        uow.commit()
    return vehicle


CHECK_VIOLATION = "23514"


def _flush(uow: VeiculoUnitOfWork) -> None:
    """A duplicate plate, chassis or RENAVAM is a 409 here, before anything else is written.
    A value the database's checks refuse is the client's (422), should one ever pass the
    schemas: never a conflict, nor a 500."""
    try:
        uow.session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        if getattr(exc.orig, "pgcode", None) == CHECK_VIOLATION:
            raise Unprocessable("INVALID_VEHICLE", f"the vehicle breaks the rule {constraint}") from None
        code, message = _UNIQUE_CONSTRAINTS.get(constraint, ("VEHICLE_ALREADY_REGISTERED", "this vehicle exists"))
        raise Conflict(code, message) from None


def vehicle_not_found() -> NotFound:
    return NotFound("VEHICLE_NOT_FOUND", "no such vehicle")


def edit_vehicle(uow: VeiculoUnitOfWork, vehicle_id: str, changes: dict[str, object], now: datetime) -> Vehicle:
    """Any field; never a sold vehicle, never the price of a reserved one."""
    _check_year(changes.get("year"), now)
    with uow:
        vehicle = uow.vehicles.get_for_update(vehicle_id)  # a reservation waits for the edit, or the reverse
        if vehicle is None:
            raise vehicle_not_found()
        plate = changes.get("license_plate")
        price_before = vehicle.price
        try:
            vehicle.edit(changes, plate_key(plate) if isinstance(plate, str) else None)
        except VehicleSoldAlready:
            raise Conflict("VEHICLE_SOLD", "a sold vehicle cannot be edited") from None
        except PriceLocked:
            raise Conflict("VEHICLE_RESERVED", "a purchase holds this vehicle at its price") from None
        _flush(uow)
        price = {"price": {"from": price_before, "to": vehicle.price}} if "price" in changes else {}
        uow.audit("vehicle.changed", vehicle_id, fields=sorted(changes), **price)
        uow.commit()
    return vehicle


def pick_up(uow: VeiculoUnitOfWork, vehicle_id: str, at: datetime) -> Vehicle:
    with uow:
        vehicle = uow.vehicles.get_for_update(vehicle_id)
        if vehicle is None:
            raise vehicle_not_found()
        try:
            vehicle.pick_up(at)
        except NotSold:
            raise Conflict("VEHICLE_NOT_SOLD", "only a sold vehicle can be picked up") from None
        except PickedUpAlready:
            raise Conflict("VEHICLE_ALREADY_PICKED_UP", "the buyer already took this vehicle") from None
        uow.audit("vehicle.picked_up", vehicle_id)
        uow.commit()
    return vehicle


def get_vehicle(uow: VeiculoUnitOfWork, vehicle_id: str) -> tuple[Vehicle, list[Photo]]:
    """The vehicle and its gallery, in order."""
    with uow:
        vehicle = uow.vehicles.get(vehicle_id)
        gallery = uow.photos.gallery(vehicle_id) if vehicle is not None else []
    if vehicle is None:
        raise vehicle_not_found()
    return vehicle, gallery


@dataclass(frozen=True)
class Found:
    page: list[Listed]
    total: int
    following: Position | None  # where the next page starts
    facets: Facets | None


def search_vehicles(
    uow: VeiculoUnitOfWork, search: Search, sort: Sort, after: Position | None, limit: int, facets: bool = False
) -> Found:
    """A page of what ``search`` finds in ``sort``'s order, how many it finds, and, if asked,
    how many each facet's values would find."""
    for low, high in ((search.year_min, search.year_max), (search.price_min, search.price_max)):
        if low is not None and high is not None and low > high:
            raise Unprocessable("INVALID_RANGE", "a minimum is above its maximum")
    with uow:
        found = uow.vehicles.find(search, sort, after, limit + 1, facets)
    following = found.after(sort, limit - 1) if len(found.page) > limit else None
    return Found(found.page[:limit], found.total, following, found.facets)


def bought_by(uow: VeiculoUnitOfWork, customer_id: str) -> list[Vehicle]:
    """The vehicles the customer bought (its LGPD export)."""
    with uow:
        return uow.vehicles.bought_by(customer_id)
