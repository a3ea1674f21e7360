"""Use cases behind the HTTP API."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from app.adapters import totp
from app.domain.model import (
    CreditLimitBelowUsed,
    Customer,
    Hold,
    OutgoingMail,
    PasswordReset,
    PurchaseInProgress,
    StaffMember,
)
from app.service_layer import access
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.auth import Principal, Role
from mercado_shared.clock import Clock
from mercado_shared.errors import BusinessError, Conflict, Forbidden, NotFound, Unprocessable


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


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
    "customers_email_index_key": ("EMAIL_ALREADY_REGISTERED", "a customer with this email exists"),
    "customers_document_index_key": ("DOCUMENT_ALREADY_REGISTERED", "a customer with this CPF exists"),
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
        opening_balance=new.account_balance,
    )
    with uow:
        if uow.staff.by_email(new.email) is not None:  # staff sign in with it: never a customer's
            raise Conflict(*_UNIQUE_CONSTRAINTS["customers_email_index_key"])
        uow.customers.add(customer)
        try:
            uow.session.flush()  # a duplicate is a 409 here, before anything else is written
        except IntegrityError as exc:
            raise _unique_violation(exc) from None
        uow.audit(
            "customer.registered",
            customer.id,
            initial_balance=new.account_balance,
            credit_limit=new.credit_limit,
        )
        uow.commit()
    return customer


def _not_found() -> NotFound:
    return NotFound("CUSTOMER_NOT_FOUND", "no such customer")


def _active(customer: Customer | None) -> Customer:
    """The customer, if there is one and it was not erased (404, else 409)."""
    if customer is None:
        raise _not_found()
    if not customer.is_active:
        raise Conflict("CUSTOMER_ANONYMISED", "this customer's personal data was erased")
    return customer


def _unique_violation(exc: IntegrityError) -> Conflict:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    code, message = _UNIQUE_CONSTRAINTS.get(constraint or "", ("CUSTOMER_ALREADY_REGISTERED", "this customer exists"))
    return Conflict(code, message)


def get_customer(uow: ClienteUnitOfWork, customer_id: str, principal: Principal) -> Customer:
    access.require_visible(principal, customer_id)
    with uow:
        customer = uow.customers.get(customer_id)
    if customer is None:
        raise _not_found()
    return customer


def funds_of(uow: ClienteUnitOfWork, customer_id: str) -> Customer:
    """For the platform's internal route (its caller was authenticated there): any customer."""
    with uow:
        customer = uow.customers.get(customer_id)
    if customer is None:
        raise _not_found()
    return customer


def list_customers(
    uow: ClienteUnitOfWork, after: tuple[datetime, str] | None, limit: int
) -> tuple[list[Customer], int, tuple[datetime, str] | None]:
    with uow:
        page, total = uow.customers.page(after, limit + 1)
    more, page = len(page) > limit, page[:limit]
    last = page[-1] if page else None
    following = (last.created_at, last.id) if more and last and last.created_at else None
    return page, total, following


@dataclass(frozen=True)
class CustomerChanges:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    current_password: str | None = None
    credit_limit: Decimal | None = None


# Before a password is checked for the account with this e-mail: refuses (429) or returns
# what to call with whether it was right (the sign-in limits, shared with POST /auth/token).
PasswordGuard = Callable[[str], Callable[[bool], None]]


def update_customer(
    uow: ClienteUnitOfWork,
    hasher: PasswordHasher,
    customer_id: str,
    principal: Principal,
    changes: CustomerChanges,
    guard: PasswordGuard,
) -> Customer:
    """The customer changes its e-mail or password only with its current password; staff
    never set a password (they send a reset), and no e-mail of staff's can become a
    customer's."""
    access.require_visible(principal, customer_id)
    access.write_fields(principal, {"credit_limit"} if changes.credit_limit is not None else set())
    if changes.password is not None and principal.is_staff:
        raise Forbidden("STAFF_CANNOT_SET_PASSWORD", "staff send the customer a password reset instead")
    confirming = not principal.is_staff and (changes.email is not None or changes.password is not None)
    if confirming and changes.current_password is None:
        raise Unprocessable("CURRENT_PASSWORD_REQUIRED", "send current_password to change email or password")
    with uow:
        found = uow.customers.get(customer_id)
        if found is not None and changes.email is not None and uow.staff.by_email(changes.email) is not None:
            raise Conflict(*_UNIQUE_CONSTRAINTS["customers_email_index_key"])
    found = _active(found)
    if confirming:
        assert changes.current_password is not None
        outcome = guard(found.email)
        right = hasher.verify(found.password_hash, changes.current_password)
        outcome(right)
        if not right:
            raise Forbidden("WRONG_PASSWORD", "the current password is not right")
    new_hash = hasher.hash(changes.password) if changes.password is not None else None  # not under the row lock
    with uow:
        customer = _active(uow.customers.get_for_update(customer_id))
        changed = sorted(
            f for f in ("name", "email", "phone", "password", "credit_limit") if getattr(changes, f) is not None
        )
        money = {"credit_limit": {"from": customer.credit_limit, "to": changes.credit_limit}}
        for field in ("name", "email", "phone"):
            if (value := getattr(changes, field)) is not None:
                setattr(customer, field, value)
        if new_hash is not None:
            customer.password_hash = new_hash
        if changes.credit_limit is not None:
            try:
                customer.set_credit_limit(changes.credit_limit)
            except CreditLimitBelowUsed:
                raise Conflict(
                    "CREDIT_LIMIT_BELOW_USED", f"purchases in progress or made use {customer.used_credit} of credit"
                ) from None
        try:
            uow.session.flush()  # a taken e-mail is a 409 here, before anything else is written
        except IntegrityError as exc:
            raise _unique_violation(exc) from None
        if changed:
            uow.audit(
                "customer.changed", customer_id, fields=changed, **(money if changes.credit_limit is not None else {})
            )
        identity_by_staff = principal.is_staff and any(
            getattr(changes, field) is not None for field in ("name", "email", "phone")
        )
        if new_hash is not None or identity_by_staff:
            _end_sessions(uow, customer)  # a new password, or staff acting on who the customer is
        uow.commit()
    return customer


def export_customer(uow: ClienteUnitOfWork, customer_id: str, principal: Principal) -> tuple[Customer, list[Hold]]:
    """Everything held about the customer (LGPD access), for the customer itself."""
    access.export(principal, customer_id)
    with uow:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise _not_found()
        return customer, uow.holds.of_customer(customer_id)


class PurchaseLedger(Protocol):
    def purchases_in_progress(self, customer_id: str) -> int:
        """The customer's purchases accepted and not yet ended (the orchestrator knows)."""
        ...


def anonymise_customer(
    uow: ClienteUnitOfWork, purchases: PurchaseLedger, customer_id: str, principal: Principal
) -> None:
    """LGPD erasure. Refused while a purchase is in progress: from the moment the
    orchestrator accepted it until it ended, whether or not it holds funds now. Idempotent.

    A purchase accepted between the question and the erasure finds the customer erased
    when its credit hold arrives, and fails with nothing taken (CUSTOMER_NOT_FOUND)."""
    access.require_visible(principal, customer_id)
    with uow:
        found = uow.customers.get(customer_id)
    if found is None:
        raise _not_found()
    if found.is_active and purchases.purchases_in_progress(found.id) > 0:
        raise Conflict("PURCHASE_IN_PROGRESS", "a purchase is in progress; try again when it ends")
    with uow:
        customer = uow.customers.get_for_update(customer_id)  # no hold can start meanwhile
        if customer is None:
            raise _not_found()
        if not customer.is_active:
            return
        try:
            customer.anonymise(uow.holds.open_count(customer_id))
        except PurchaseInProgress:
            raise Conflict("PURCHASE_IN_PROGRESS", "a purchase is in progress; try again when it ends") from None
        uow.customers.destroy_key(customer)  # copies of the old ciphertexts can no longer be opened
        _end_sessions(uow, customer)
        uow.audit("customer.erased", customer_id)
        uow.commit()


class SecondFactorRequired(Exception):
    """The password was right, and this staff account also needs its TOTP code."""


def authenticate(
    uow: ClienteUnitOfWork,
    hasher: PasswordHasher,
    email: str,
    password: str,
    totp_code: str | None = None,
    now: datetime | None = None,
) -> Principal | None:
    """Exactly one Argon2 verification whatever the e-mail names (a customer, staff, an
    erased or unknown account), so the answer's timing does not tell them apart. Named
    staff also give a TOTP code, each code good once."""
    email = email.strip().lower()
    with uow:
        customer = uow.customers.by_email(email)
        staff = None if customer is not None else uow.staff.by_email(email)
    account: Customer | StaffMember | None = staff
    if customer is not None:
        account = customer if customer.is_active else None
    if not hasher.verify(account.password_hash if account is not None else None, password) or account is None:
        return None
    if isinstance(account, StaffMember) and account.totp_secret is not None:
        if totp_code is None:
            raise SecondFactorRequired
        if not _second_factor(uow, account.id, totp_code, now or datetime.now(UTC)):
            return None
    is_customer = isinstance(account, Customer)
    if hasher.needs_rehash(account.password_hash):
        # The repositories are the open unit of work's, so they are looked up inside it.
        _rehash(uow, hasher, lambda: (uow.customers if is_customer else uow.staff).get(account.id), password)
    return Principal(account.id, Role.CUSTOMER if is_customer else Role.STAFF, account.session_version)


def _second_factor(uow: ClienteUnitOfWork, staff_id: str, code: str, now: datetime) -> bool:
    with uow:
        member = uow.staff.get_for_update(staff_id)  # two sign-ins with one code: one wins
        if member is None or member.totp_secret is None:
            return False
        step = totp.accepted_step(member.totp_secret, code, now, member.totp_last_step)
        if step is None:
            return False
        member.totp_last_step = step
        uow.commit()
    return True


def _end_sessions(uow: ClienteUnitOfWork, account: Customer | StaffMember) -> None:
    """Every token the account holds stops working: here at commit, elsewhere at the event."""
    account.session_version += 1
    uow.end_sessions(account.id, account.session_version)


def _rehash(uow: ClienteUnitOfWork, hasher: PasswordHasher, find: Callable[[], Any], password: str) -> None:
    """A hash made with older parameters is replaced by today's, now that the password is known."""
    new_hash = hasher.hash(password)
    with uow:
        account = find()
        if account is not None:
            account.password_hash = new_hash
            uow.commit()


def ensure_staff(uow: ClienteUnitOfWork, hasher: PasswordHasher, email: str, password: str) -> None:
    """The staff account of STAFF_EMAIL / STAFF_PASSWORD exists with that password."""
    email = email.strip().lower()
    with uow:
        if uow.customers.by_email(email) is not None:  # whoever holds it would sign in as staff's twin
            raise RuntimeError("STAFF_EMAIL is a customer's e-mail: give staff another one")
        member = uow.staff.by_email(email)
        if member is None:
            uow.staff.add(StaffMember(str(uuid.uuid4()), email, hasher.hash(password)))
        elif not hasher.verify(member.password_hash, password):
            member.password_hash = hasher.hash(password)
            _end_sessions(uow, member)  # STAFF_PASSWORD changed: the old one's sessions end
        else:
            return
        with contextlib.suppress(IntegrityError):  # another instance created it at the same moment
            uow.commit()


# ------------------------------------------------------------------ password resets
@dataclass(frozen=True)
class ResetPolicy:
    ttl: timedelta
    url: str  # the frontend's page; "{token}" is replaced by the reset's token


_RESET_SUBJECT = "Mercado Veículo: redefinição de senha"
_RESET_BODY = """Olá,

{why}

Para escolher uma nova senha, abra este endereço em até {minutes} minutos:

{link}

O endereço serve uma só vez. Se você não pediu, ignore este e-mail: sua senha continua a
mesma. Ao trocar a senha, todas as sessões abertas da sua conta são encerradas.

Mercado Veículo
"""
_ASKED = "Recebemos um pedido para redefinir a senha da sua conta no Mercado Veículo."
_SENT_BY_STAFF = "A equipe do Mercado Veículo enviou a você um endereço para redefinir a senha da sua conta."


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid_reset() -> BusinessError:
    return BusinessError("INVALID_RESET_TOKEN", "this reset link is unknown, used or expired; ask for another")


def ask_password_reset(uow: ClienteUnitOfWork, policy: ResetPolicy, clock: Clock, email: str, allowed: bool) -> None:
    """Anonymous: the same answer whether or not ``email`` is a customer's. ``allowed``:
    whether this account may get another reset mail now (a per-account limit, so nobody
    can fill a customer's inbox)."""
    with uow:
        customer = uow.customers.by_email(email)
        if customer is None or not customer.is_active or not allowed:
            return
        _issue_reset(uow, customer, policy, clock(), _ASKED)
        uow.commit()


def send_password_reset(uow: ClienteUnitOfWork, policy: ResetPolicy, clock: Clock, customer_id: str) -> None:
    """Staff: instead of setting a password, send the customer a reset."""
    with uow:
        customer = _active(uow.customers.get(customer_id))
        _issue_reset(uow, customer, policy, clock(), _SENT_BY_STAFF)
        uow.audit("customer.password_reset_sent", customer.id)
        uow.commit()


def _issue_reset(uow: ClienteUnitOfWork, customer: Customer, policy: ResetPolicy, now: datetime, why: str) -> None:
    token = secrets.token_urlsafe(32)
    expires = now + policy.ttl
    uow.resets.add(PasswordReset(_token_hash(token), customer.id, expires))
    body = _RESET_BODY.format(
        why=why, minutes=int(policy.ttl.total_seconds() // 60), link=policy.url.replace("{token}", token)
    )
    uow.mail.add(OutgoingMail(str(uuid.uuid4()), customer.email, _RESET_SUBJECT, body, expires, now))


def reset_password(uow: ClienteUnitOfWork, hasher: PasswordHasher, clock: Clock, token: str, password: str) -> None:
    """Set the password a reset was sent for: once, before it expires; every other reset
    of the account is spent and every session of the account ends."""
    token_hash = _token_hash(token)
    with uow:  # a cheap look first: an unknown token costs no password hash
        found = uow.resets.get_for_update(token_hash)
        if found is None or not found.usable(clock()):
            raise _invalid_reset()
    new_hash = hasher.hash(password)
    with uow:
        reset = uow.resets.get_for_update(token_hash)
        now = clock()
        if reset is None or not reset.usable(now):
            raise _invalid_reset()
        customer = uow.customers.get_for_update(reset.customer_id)
        if customer is None or not customer.is_active:
            raise _invalid_reset()
        customer.password_hash = new_hash
        uow.resets.close_all(customer.id, now)
        _end_sessions(uow, customer)
        uow.commit()
