"""Repositories over the mapped domain classes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.adapters import orm
from app.adapters.orm import customers, holds, password_resets, purchase_notices, staff
from app.domain.model import Customer, Hold, HoldStatus, OutgoingMail, PasswordReset, StaffMember
from mercado_shared.ids import is_uuid


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    def get(self, customer_id: str) -> Customer | None:
        return self.session.get(Customer, customer_id) if is_uuid(customer_id) else None

    def destroy_key(self, customer: Customer) -> None:
        """At erasure: the key its personal data was sealed with is gone (crypto-shredding)."""
        orm.destroy_key(self.session, customer)

    def get_for_update(self, customer_id: str) -> Customer | None:
        """Row-locked: concurrent holds on one customer are applied one after the other."""
        if not is_uuid(customer_id):
            return None
        return self.session.get(Customer, customer_id, with_for_update=True)

    def by_email(self, email: str) -> Customer | None:
        """By the email's blind index: the query carries its HMAC, never the address."""
        return self.session.scalars(sa.select(Customer).where(customers.c.email_index == email)).first()

    def page(self, after: tuple[datetime, str] | None, limit: int) -> tuple[list[Customer], int]:
        """Oldest first, ties by id."""
        query = sa.select(Customer)
        if after is not None:
            query = query.where(sa.tuple_(customers.c.created_at, customers.c.id) > sa.tuple_(*after))
        rows = list(self.session.scalars(query.order_by(customers.c.created_at, customers.c.id).limit(limit)))
        total = self.session.scalar(sa.select(sa.func.count()).select_from(customers)) or 0
        return rows, int(total)


class HoldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, hold: Hold) -> None:
        self.session.add(hold)

    def get_for_update(self, transaction_id: str) -> Hold | None:
        return self.session.get(Hold, transaction_id, with_for_update=True)

    def of_customer(self, customer_id: str) -> list[Hold]:
        return list(
            self.session.scalars(sa.select(Hold).filter_by(customer_id=customer_id).order_by(holds.c.created_at))
        )

    def open_count(self, customer_id: str) -> int:
        """Holds of purchases still in progress."""
        query = sa.select(sa.func.count()).where(holds.c.customer_id == customer_id, holds.c.status == HoldStatus.HELD)
        return int(self.session.scalar(query) or 0)


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, member: StaffMember) -> None:
        self.session.add(member)

    def by_email(self, email: str) -> StaffMember | None:
        return self.session.scalars(sa.select(StaffMember).filter_by(email=email)).first()

    def get(self, staff_id: str) -> StaffMember | None:
        return self.session.get(StaffMember, staff_id)

    def get_for_update(self, staff_id: str) -> StaffMember | None:
        return self.session.get(StaffMember, staff_id, with_for_update=True)

    def all(self) -> list[StaffMember]:
        return list(self.session.scalars(sa.select(StaffMember).order_by(staff.c.email)))


class PasswordResetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, reset: PasswordReset) -> None:
        self.session.add(reset)

    def get_for_update(self, token_hash: str) -> PasswordReset | None:
        return self.session.get(PasswordReset, token_hash, with_for_update=True)

    def close_all(self, customer_id: str, at: datetime) -> None:
        """Every reset still open for the customer is spent: one link sets one password."""
        self.session.execute(
            sa.update(password_resets)
            .where(password_resets.c.customer_id == customer_id, password_resets.c.used_at.is_(None))
            .values(used_at=at)
        )


class MailRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, mail: OutgoingMail) -> None:
        self.session.add(mail)

    def drop_queued(self, transaction_id: str) -> None:
        """What is still queued about a purchase that ended (a reminder of its code)."""
        self.session.execute(sa.delete(orm.outgoing_mail).where(orm.outgoing_mail.c.transaction_id == transaction_id))

    def first_notice(self, transaction_id: str, kind: str) -> bool:
        """Whether this is the first time the purchase's notice of ``kind`` is decided (and
        remember it, in this transaction)."""
        insert = pg_insert(purchase_notices).values(transaction_id=transaction_id, kind=kind)
        decided = self.session.execute(insert.on_conflict_do_nothing().returning(purchase_notices.c.kind))
        return decided.first() is not None
