"""Use cases behind the HTTP API."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from app.domain.model import Customer, StaffMember
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.auth import Principal, Role
from mercado_shared.errors import Conflict, NotFound


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str
    phone: str
    document: str
    password: str
    account_balance: Decimal
    credit_limit: Decimal


_UNIQUE_CONSTRAINTS = {
    "customers_email_key": ("EMAIL_ALREADY_REGISTERED", "a customer with this email exists"),
    "customers_document_key": ("DOCUMENT_ALREADY_REGISTERED", "a customer with this CPF exists"),
}


def register_customer(uow: ClienteUnitOfWork, hasher: PasswordHasher, new: NewCustomer) -> Customer:
    customer = Customer(
        id=str(uuid.uuid4()),
        name=new.name,
        email=new.email,
        phone=new.phone,
        document=new.document,
        password_hash=hasher.hash(new.password),
        account_balance=new.account_balance,
        credit_limit=new.credit_limit,
    )
    with uow:
        uow.customers.add(customer)
        try:
            uow.commit()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            code, message = _UNIQUE_CONSTRAINTS.get(
                constraint or "", ("CUSTOMER_ALREADY_REGISTERED", "this customer exists")
            )
            raise Conflict(code, message) from None
    return customer


def get_customer(uow: ClienteUnitOfWork, customer_id: str, principal: Principal) -> Customer:
    """The customer itself or staff; to anyone else the record does not exist."""
    if not principal.is_staff and principal.subject != customer_id:
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")
    with uow:
        customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")
    return customer


def authenticate(uow: ClienteUnitOfWork, hasher: PasswordHasher, email: str, password: str) -> Principal | None:
    email = email.strip().lower()
    with uow:
        customer = uow.customers.by_email(email)
        staff = None if customer is not None else uow.staff.by_email(email)
    if customer is not None and customer.is_active and hasher.verify(customer.password_hash, password):
        return Principal(customer.id, Role.CUSTOMER)
    if staff is not None and hasher.verify(staff.password_hash, password):
        return Principal(staff.id, Role.STAFF)
    if customer is None and staff is None:
        hasher.verify(None, password)  # same work as a wrong password: no account enumeration
    return None


def ensure_staff(uow: ClienteUnitOfWork, hasher: PasswordHasher, email: str, password: str) -> None:
    """The staff account of STAFF_EMAIL / STAFF_PASSWORD exists with that password."""
    email = email.strip().lower()
    with uow:
        member = uow.staff.by_email(email)
        if member is None:
            uow.staff.add(StaffMember(str(uuid.uuid4()), email, hasher.hash(password)))
        elif not hasher.verify(member.password_hash, password):
            member.password_hash = hasher.hash(password)
        else:
            return
        with contextlib.suppress(IntegrityError):  # another instance created it at the same moment
            uow.commit()
