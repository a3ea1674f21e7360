"""Repositories over the mapped domain classes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.domain.model import Customer, Hold, StaffMember
from mercado_shared.ids import is_uuid


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    def get(self, customer_id: str) -> Customer | None:
        return self.session.get(Customer, customer_id) if is_uuid(customer_id) else None

    def get_for_update(self, customer_id: str) -> Customer | None:
        """Row-locked: concurrent holds on one customer are applied one after the other."""
        if not is_uuid(customer_id):
            return None
        return self.session.get(Customer, customer_id, with_for_update=True)

    def by_email(self, email: str) -> Customer | None:
        return self.session.scalars(sa.select(Customer).filter_by(email=email)).first()


class HoldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, hold: Hold) -> None:
        self.session.add(hold)

    def get_for_update(self, transaction_id: str) -> Hold | None:
        return self.session.get(Hold, transaction_id, with_for_update=True)


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, member: StaffMember) -> None:
        self.session.add(member)

    def by_email(self, email: str) -> StaffMember | None:
        return self.session.scalars(sa.select(StaffMember).filter_by(email=email)).first()

    def get(self, staff_id: str) -> StaffMember | None:
        return self.session.get(StaffMember, staff_id)
