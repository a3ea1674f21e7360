"""Repositories over the mapped domain classes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.adapters import orm
from app.domain.model import AmountDiscrepancy, Payment, PaymentCode, PaymentStatus
from mercado_shared.ids import is_uuid


class PaymentCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, code: PaymentCode) -> None:
        self.session.add(code)

    def of_customer(self, customer_id: str) -> list[PaymentCode]:
        query = sa.select(PaymentCode).where(orm.payment_codes.c.customer_id == customer_id)
        return list(self.session.scalars(query.order_by(orm.payment_codes.c.created_at, orm.payment_codes.c.code)))

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

    def of_customer(self, customer_id: str) -> list[Payment]:
        query = sa.select(Payment).where(orm.payments.c.customer_id == customer_id)
        return list(self.session.scalars(query.order_by(orm.payments.c.created_at, orm.payments.c.id)))

    def get(self, payment_id: str) -> Payment | None:
        return self.session.get(Payment, payment_id) if is_uuid(payment_id) else None

    def for_code(self, code: str) -> Payment | None:
        return self.session.scalars(sa.select(Payment).filter_by(payment_code=code).with_for_update()).first()

    def paid_by(self, end_to_end_id: str) -> Payment | None:
        """The payment the Pix ``end_to_end_id`` made, locked."""
        return self.session.scalars(sa.select(Payment).filter_by(end_to_end_id=end_to_end_id).with_for_update()).first()

    def refunds_needing_a_person(self) -> list[Payment]:
        query = sa.select(Payment).filter_by(refund_needs_person=True, status=PaymentStatus.REFUNDING)
        return list(self.session.scalars(query.order_by(orm.payments.c.created_at, orm.payments.c.id).limit(100)))


class DiscrepancyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, code: str, notified: Decimal) -> AmountDiscrepancy | None:
        return self.session.scalars(
            sa.select(AmountDiscrepancy).filter_by(payment_code=code, notified_amount=notified).with_for_update()
        ).first()

    def add(self, discrepancy: AmountDiscrepancy) -> None:
        self.session.add(discrepancy)

    def page(self, before: tuple[datetime, str] | None, limit: int) -> list[AmountDiscrepancy]:
        """Newest first by when each was first notified, ties by id; ``before`` is the last
        item of the previous page."""
        table = orm.payment_discrepancies
        query = sa.select(AmountDiscrepancy)
        if before is not None:
            query = query.where(sa.tuple_(table.c.first_seen_at, table.c.id) < sa.tuple_(*before))
        order = (table.c.first_seen_at.desc(), table.c.id.desc())
        return list(self.session.scalars(query.order_by(*order).limit(limit)))
