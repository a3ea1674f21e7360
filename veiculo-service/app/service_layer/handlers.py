"""Commands from the purchase saga. Each answers with an explicit event, never an exception.

Idempotent per transaction id: the reservation row is keyed on it. A release arriving
before its reservation leaves a RELEASED tombstone, so the late reservation is refused.
The vehicle row is locked while it changes, and a partial unique index allows one live
reservation or sale per vehicle, so two purchases can never both hold one car.
"""

from __future__ import annotations

from functools import partial

from app.domain.model import FailureReason, Reservation, ReservationStatus, VehicleUnavailable
from app.service_layer.unit_of_work import VeiculoUnitOfWork
from mercado_shared.clock import Clock
from mercado_shared.contracts import (
    MarkVehicleSold,
    Message,
    ReleaseVehicle,
    ReserveVehicle,
    VehicleReleased,
    VehicleReservationFailed,
    VehicleReserved,
    VehicleSaleFailed,
    VehicleSold,
)
from mercado_shared.messaging.bus import Handlers

_LIVE = (ReservationStatus.RESERVED, ReservationStatus.SOLD)


def reserve_vehicle(cmd: ReserveVehicle, uow: VeiculoUnitOfWork) -> Message:
    def failed(reason: FailureReason) -> VehicleReservationFailed:
        return VehicleReservationFailed(transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id, reason=reason)

    def rejected(reason: FailureReason) -> VehicleReservationFailed:
        uow.reservations.add(
            Reservation(cmd.transaction_id, cmd.vehicle_id, cmd.customer_id, ReservationStatus.REJECTED)
        )
        return failed(reason)

    existing = uow.reservations.get_for_update(cmd.transaction_id)
    if existing is not None:
        if existing.status in _LIVE:
            return VehicleReserved(transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id)
        if existing.status is ReservationStatus.RELEASED:
            return failed(FailureReason.PURCHASE_ABANDONED)
        return failed(FailureReason.VEHICLE_UNAVAILABLE)

    vehicle = uow.vehicles.get_for_update(cmd.vehicle_id)
    if vehicle is None:
        return rejected(FailureReason.VEHICLE_NOT_FOUND)
    if vehicle.price != cmd.price:
        return rejected(FailureReason.PRICE_CHANGED)
    try:
        reservation = vehicle.reserve(cmd.transaction_id, cmd.customer_id)
    except VehicleUnavailable:
        return rejected(FailureReason.VEHICLE_UNAVAILABLE)
    uow.reservations.add(reservation)
    return VehicleReserved(transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id)


def release_vehicle(cmd: ReleaseVehicle, uow: VeiculoUnitOfWork) -> Message:
    reservation = uow.reservations.get_for_update(cmd.transaction_id)
    if reservation is None:
        uow.reservations.add(Reservation(cmd.transaction_id, cmd.vehicle_id, "", ReservationStatus.RELEASED))
    elif reservation.status in _LIVE:
        vehicle = uow.vehicles.get_for_update(reservation.vehicle_id)
        assert vehicle is not None, "a live reservation always has its vehicle"
        vehicle.release(reservation)
    return VehicleReleased(transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id)


def mark_vehicle_sold(cmd: MarkVehicleSold, uow: VeiculoUnitOfWork, *, clock: Clock) -> Message:
    reservation = uow.reservations.get_for_update(cmd.transaction_id)
    if reservation is not None and reservation.status in _LIVE:
        vehicle = uow.vehicles.get_for_update(reservation.vehicle_id)
        assert vehicle is not None, "a live reservation always has its vehicle"
        vehicle.sell(reservation, cmd.price, clock())
        return VehicleSold(
            transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id, customer_id=cmd.customer_id, price=cmd.price
        )
    return VehicleSaleFailed(
        transaction_id=cmd.transaction_id, vehicle_id=cmd.vehicle_id, reason=FailureReason.NOT_RESERVED
    )


def build_handlers(clock: Clock) -> Handlers[VeiculoUnitOfWork]:
    return {
        ReserveVehicle: reserve_vehicle,
        ReleaseVehicle: release_vehicle,
        MarkVehicleSold: partial(mark_vehicle_sold, clock=clock),  # a sale's time, on the service's clock
    }
