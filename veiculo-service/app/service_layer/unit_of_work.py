from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import PhotoRepository, ReservationRepository, VehicleRepository
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class VeiculoUnitOfWork(SqlUnitOfWork):
    vehicles: VehicleRepository
    reservations: ReservationRepository
    photos: PhotoRepository

    def _open(self, session: Session) -> None:
        self.vehicles = VehicleRepository(session)
        self.reservations = ReservationRepository(session)
        self.photos = PhotoRepository(session)
