"""Customers, their money, and the holds purchases place on it. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from mercado_shared.contracts import PaymentType

ZERO = Decimal("0.00")


class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ANONYMISED = "ANONYMISED"


class HoldStatus(StrEnum):
    HELD = "HELD"  # funds taken from the balance or the credit line, purchase in progress
    CAPTURED = "CAPTURED"  # the purchase was paid: the funds are spent
    RELEASED = "RELEASED"  # the hold was undone (also a tombstone: released before it existed)
    REFUNDED = "REFUNDED"  # a capture was undone
    REJECTED = "REJECTED"  # never held (insufficient funds, unknown customer)


class FailureReason(StrEnum):
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    PURCHASE_ABANDONED = "PURCHASE_ABANDONED"  # released before the reservation arrived
    NOT_HELD = "NOT_HELD"


class InsufficientFunds(Exception):
    pass


class CreditLimitBelowUsed(Exception):
    pass


class PurchaseInProgress(Exception):
    pass


ANONYMISED_NAME = "Cliente anonimizado"


@dataclass(eq=False)
class Hold:
    transaction_id: str
    customer_id: str
    source: PaymentType
    amount: Decimal
    status: HoldStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(eq=False)
class Customer:
    id: str
    name: str
    email: str
    phone: str
    document: str
    password_hash: str
    account_balance: Decimal = ZERO
    credit_limit: Decimal = ZERO
    used_credit: Decimal = ZERO
    status: CustomerStatus = CustomerStatus.ACTIVE
    opening_balance: Decimal = ZERO  # the balance given at registration: what holds are checked against
    session_version: int = 1  # tokens issued at an older version are refused (mercado_shared.sessions)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def available_credit(self) -> Decimal:
        return self.credit_limit - self.used_credit

    @property
    def is_active(self) -> bool:
        return self.status is CustomerStatus.ACTIVE

    def available(self, source: PaymentType) -> Decimal:
        return self.account_balance if source is PaymentType.CASH else self.available_credit

    def hold(self, transaction_id: str, source: PaymentType, amount: Decimal) -> Hold:
        """Take ``amount`` from the balance (cash) or the credit line (credit)."""
        if amount > self.available(source):
            raise InsufficientFunds
        self._move(source, -amount)
        return Hold(transaction_id, self.id, source, amount, HoldStatus.HELD)

    def capture(self, hold: Hold) -> bool:
        """The purchase was paid: the held funds are spent. Idempotent."""
        if hold.status is HoldStatus.HELD:
            hold.status = HoldStatus.CAPTURED
        return hold.status is HoldStatus.CAPTURED

    def release(self, hold: Hold) -> Decimal:
        """Undo whatever the hold did: give back held or captured funds. Idempotent."""
        if hold.status is HoldStatus.HELD:
            hold.status = HoldStatus.RELEASED
        elif hold.status is HoldStatus.CAPTURED:
            hold.status = HoldStatus.REFUNDED
        else:
            return ZERO
        self._move(hold.source, hold.amount)
        return hold.amount

    def set_credit_limit(self, limit: Decimal) -> None:
        if limit < self.used_credit:
            raise CreditLimitBelowUsed
        self.credit_limit = limit

    def anonymise(self, open_holds: int) -> None:
        """LGPD erasure: personal data goes, the money and the purchases stay with the id."""
        if open_holds:
            raise PurchaseInProgress
        self.name = ANONYMISED_NAME
        self.email = f"anonymised-{self.id}@anonymised.invalid"
        self.phone = ""
        self.document = f"anonymised-{self.id}"
        self.password_hash = "!"  # noqa: S105 (not a hash: no password matches it)
        self.status = CustomerStatus.ANONYMISED

    def _move(self, source: PaymentType, delta: Decimal) -> None:
        if source is PaymentType.CASH:
            self.account_balance += delta
        else:
            self.used_credit -= delta


@dataclass(eq=False)
class StaffMember:
    id: str
    email: str
    password_hash: str
    session_version: int = 1
    # Named staff (python -m app.staff create) sign in with a TOTP code too; the account of
    # STAFF_EMAIL, which exists only outside production, has none.
    totp_secret: str | None = None
    totp_last_step: int | None = None  # the last code's time step: a code is good once
    created_at: datetime | None = None


@dataclass(eq=False)
class PasswordReset:
    """A single-use right to set a customer's password, sent to its e-mail. Only the
    token's SHA-256 is stored: a database reader cannot use a pending reset."""

    token_hash: str
    customer_id: str
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(eq=False)
class OutgoingMail:
    """A message waiting for the SMTP relay; deleted once sent, or when it no longer matters."""

    id: str
    recipient: str
    subject: str
    body: str
    not_after: datetime  # past this it is dropped unsent (a reset link that has expired)
    next_attempt_at: datetime
    attempts: int = 0
    claimed_until: datetime | None = None
    created_at: datetime | None = None
    html: str | None = None  # an HTML alternative to ``body``
    qr: str | None = None  # a QR the HTML shows inline (cid:qr), drawn from this text when sent
    transaction_id: str | None = None  # the purchase it is about: dropped if queued when it ends
    dead_letter: bool = False  # undelivered by not_after: kept for operators, not dropped
    dead_at: datetime | None = None
