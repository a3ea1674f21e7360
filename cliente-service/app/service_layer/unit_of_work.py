from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import CustomerRepository, HoldRepository, StaffRepository
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class ClienteUnitOfWork(SqlUnitOfWork):
    customers: CustomerRepository
    holds: HoldRepository
    staff: StaffRepository

    def _open(self, session: Session) -> None:
        self.customers = CustomerRepository(session)
        self.holds = HoldRepository(session)
        self.staff = StaffRepository(session)
