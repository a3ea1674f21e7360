"""HTTP routes of veiculo-service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.adapters.repository import Listing
from app.entrypoints.schemas import (
    VehicleCreate,
    VehiclePage,
    VehicleRead,
    VehicleStaffRead,
    decode_cursor,
    encode_cursor,
)
from app.service_layer import services
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.auth import OptionalUser, StaffUser

vehicles = APIRouter(prefix="/vehicles", tags=["vehicles"])


def _uow(request: Request) -> VeiculoUnitOfWork:
    uow: VeiculoUnitOfWork = request.app.state.runtime.uow_factory()
    return uow


UowDep = Annotated[VeiculoUnitOfWork, Depends(_uow)]


@vehicles.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a vehicle for sale (staff)",
    response_model=VehicleStaffRead,
    responses={
        401: {"description": "no valid token"},
        403: {"description": "not staff"},
        409: {"description": "PLATE_ALREADY_REGISTERED, CHASSIS_ALREADY_REGISTERED or RENAVAM_ALREADY_REGISTERED"},
    },
)
def create_vehicle(body: VehicleCreate, _: StaffUser, uow: UowDep) -> VehicleStaffRead:
    vehicle = services.register_vehicle(uow, services.NewVehicle(**body.model_dump()))
    return VehicleStaffRead.of(vehicle)


@vehicles.get(
    "",
    summary="Vehicles ordered by price (ties by id), a page at a time",
    response_model=VehiclePage,
    responses={422: {"description": "INVALID_CURSOR or a bad parameter"}},
)
def list_vehicles(
    principal: OptionalUser,
    uow: UowDep,
    status_filter: Listing | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> VehiclePage:
    page, total, following = services.list_vehicles(uow, status_filter, decode_cursor(cursor), limit)
    read = VehicleStaffRead.of if principal is not None and principal.is_staff else VehicleRead.of
    return VehiclePage(vehicles=[read(v) for v in page], total=total, next_cursor=encode_cursor(following))


@vehicles.get(
    "/{vehicle_id}",
    summary="One vehicle (staff also see its identifiers and sale)",
    response_model=VehicleStaffRead | VehicleRead,
    responses={404: {"description": "VEHICLE_NOT_FOUND"}},
)
def get_vehicle(vehicle_id: str, principal: OptionalUser, uow: UowDep) -> VehicleRead:
    vehicle = services.get_vehicle(uow, vehicle_id)
    if principal is not None and principal.is_staff:
        return VehicleStaffRead.of(vehicle)
    return VehicleRead.of(vehicle)
