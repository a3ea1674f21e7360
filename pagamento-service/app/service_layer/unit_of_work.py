from __future__ import annotations

from sqlalchemy.orm import Session

from app.adapters.repository import PaymentCodeRepository, PaymentRepository
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork


class PagamentoUnitOfWork(SqlUnitOfWork):
    codes: PaymentCodeRepository
    payments: PaymentRepository

    def _open(self, session: Session) -> None:
        self.codes = PaymentCodeRepository(session)
        self.payments = PaymentRepository(session)
