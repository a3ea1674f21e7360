from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import (
    CustomerRepository,
    HoldRepository,
    MailRepository,
    PasswordResetRepository,
    StaffRepository,
)
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class ClienteUnitOfWork(SqlUnitOfWork):
    customers: CustomerRepository
    holds: HoldRepository
    staff: StaffRepository
    resets: PasswordResetRepository
    mail: MailRepository

    def _open(self, session: Session) -> None:
        self.customers = CustomerRepository(session)
        self.holds = HoldRepository(session)
        self.staff = StaffRepository(session)
        self.resets = PasswordResetRepository(session)
        self.mail = MailRepository(session)
