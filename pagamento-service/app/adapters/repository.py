"""Repositories over the mapped domain classes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.domain.model import Payment, PaymentCode
from mercado_shared.ids import is_uuid


class PaymentCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, code: PaymentCode) -> None:
        self.session.add(code)

    def get(self, code: str, *, for_update: bool = False) -> PaymentCode | None:
        return self.session.get(PaymentCode, code, with_for_update=for_update)

    def for_transaction(self, transaction_id: str) -> PaymentCode | None:
        return self.session.scalars(
            sa.select(PaymentCode).filter_by(transaction_id=transaction_id).with_for_update()
        ).first()


class PaymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, payment: Payment) -> None:
        self.session.add(payment)

    def get(self, payment_id: str) -> Payment | None:
        return self.session.get(Payment, payment_id) if is_uuid(payment_id) else None

    def for_code(self, code: str) -> Payment | None:
        return self.session.scalars(sa.select(Payment).filter_by(payment_code=code).with_for_update()).first()
