"""Payment codes, payments and refunds. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class CodeStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class PaymentStatus(StrEnum):
    COMPLETED = "COMPLETED"
    REFUNDING = "REFUNDING"  # a devolução asked of the provider, not yet confirmed
    REFUNDED = "REFUNDED"


# Devolução attempts the provider may refuse before staff are asked to return it by hand.
MAX_REFUND_ATTEMPTS = 3


class PaymentMethod(StrEnum):
    PIX = "pix"


class CodeNotPayable(Exception):
    """Why a code cannot be paid; ``status`` is what the code is."""

    def __init__(self, status: CodeStatus) -> None:
        super().__init__(status.value)
        self.status = status


@dataclass(eq=False)
class Payment:
    id: str
    payment_code: str
    transaction_id: str
    customer_id: str
    amount: Decimal
    method: PaymentMethod
    status: PaymentStatus
    created_at: datetime | None = None
    refunded_at: datetime | None = None
    end_to_end_id: str | None = None  # the Pix that paid it, as its provider notified it
    refund_attempts: int = 0  # devoluções asked of the provider
    refund_needs_person: bool = False  # the provider refused each: staff return it by hand

    def refund(self, at: datetime) -> Decimal:
        """Idempotent; returns the amount this call gave back."""
        if self.status is PaymentStatus.REFUNDED:
            return Decimal("0.00")
        self.status = PaymentStatus.REFUNDED
        self.refunded_at = at
        self.refund_needs_person = False
        return self.amount

    @property
    def refund_id(self) -> str | None:
        """The current devolução's id at the provider: derived from the transaction and the
        attempt, so that asking again is the same devolução ([a-zA-Z0-9]{1,35})."""
        if not self.refund_attempts:
            return None
        return f"D{self.transaction_id.replace('-', '')[:32]}{self.refund_attempts}"

    def ask_refund(self) -> str:
        """Start a devolução (or the next one, after the provider refused the last); returns
        its id. Past MAX_REFUND_ATTEMPTS staff are asked instead, and this returns the last."""
        if self.refund_attempts >= MAX_REFUND_ATTEMPTS:
            self.refund_needs_person = True
        else:
            self.refund_attempts += 1
            self.status = PaymentStatus.REFUNDING
        assert self.refund_id is not None
        return self.refund_id


@dataclass(eq=False)
class AmountDiscrepancy:
    """The provider said a code was paid with another amount than the code's."""

    id: str
    payment_code: str
    transaction_id: str
    customer_id: str
    expected_amount: Decimal
    notified_amount: Decimal
    method: PaymentMethod
    notifications: int
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(eq=False)
class PaymentCode:
    code: str
    transaction_id: str
    customer_id: str
    amount: Decimal
    status: CodeStatus
    expires_at: datetime
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Where the provider keeps its Pix charge (the location a dynamic BR Code carries);
    # None for a tombstone, or a code from before Pix charges.
    pix_location: str | None = None

    def current_status(self, now: datetime) -> CodeStatus:
        if self.status is CodeStatus.PENDING and now >= self.expires_at:
            return CodeStatus.EXPIRED
        return self.status

    def pay(self, payment_id: str, method: PaymentMethod, now: datetime, end_to_end_id: str | None = None) -> Payment:
        status = self.current_status(now)
        if status is not CodeStatus.PENDING:
            self.status = status
            raise CodeNotPayable(status)
        self.status = CodeStatus.PAID
        return Payment(
            payment_id,
            self.code,
            self.transaction_id,
            self.customer_id,
            self.amount,
            method,
            PaymentStatus.COMPLETED,
            end_to_end_id=end_to_end_id,
        )

    def close(self, now: datetime) -> None:
        """The purchase is being undone: an unpaid code can no longer be paid. One closed
        at or after its deadline reads EXPIRED, so a late payment hears 410, not 409."""
        if self.status is CodeStatus.PENDING:
            self.status = CodeStatus.EXPIRED if now >= self.expires_at else CodeStatus.CANCELLED
