from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import DiscrepancyRepository, PaymentCodeRepository, PaymentRepository
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class PagamentoUnitOfWork(SqlUnitOfWork):
    codes: PaymentCodeRepository
    payments: PaymentRepository
    discrepancies: DiscrepancyRepository

    def _open(self, session: Session) -> None:
        self.codes = PaymentCodeRepository(session)
        self.payments = PaymentRepository(session)
        self.discrepancies = DiscrepancyRepository(session)
