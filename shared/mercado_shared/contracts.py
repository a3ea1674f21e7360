"""Message contracts of the purchase flow: every command and event, and their envelope.

A message's ``TYPE`` is also the name of the Pub/Sub topic it travels on (see
``topology.json``), so the registry below is the single table that maps a topic to the
Pydantic model that validates its payload.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mercado_shared.money import Amount


class PaymentType(StrEnum):
    CASH = "cash"
    CREDIT = "credit"


class Message(BaseModel):
    """Base of every payload. Subclasses are registered with :func:`message`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    transaction_id: str


class Command(Message):
    """Asks one participant to do something; it always answers with an event."""


class Event(Message):
    """States that something happened."""


REGISTRY: dict[str, type[Message]] = {}

M = TypeVar("M", bound=type[Message])


def message(type_: str) -> Any:
    def register(cls: M) -> M:
        if type_ in REGISTRY:
            raise ValueError(f"message type {type_} registered twice")
        cls.TYPE = type_
        REGISTRY[type_] = cls
        return cls

    return register


class UnknownMessageType(LookupError):
    pass


class Envelope(BaseModel):
    """What goes over the wire: metadata that every consumer needs, and the payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: uuid.UUID
    type: str = Field(min_length=3)
    version: int = Field(ge=1)
    correlation_id: str = Field(min_length=1, description="the purchase's transaction id")
    causation_id: str | None = None
    occurred_at: AwareDatetime
    payload: dict[str, Any]

    @classmethod
    def wrap(cls, msg: Message, *, causation_id: str | None = None) -> Envelope:
        return cls(
            message_id=uuid.uuid4(),
            type=msg.TYPE,
            version=msg.VERSION,
            correlation_id=msg.transaction_id,
            causation_id=causation_id,
            occurred_at=datetime.now(UTC),
            payload=msg.model_dump(mode="json"),
        )

    def open(self) -> Message:
        """The validated payload; raises UnknownMessageType or pydantic.ValidationError."""
        try:
            cls = REGISTRY[self.type]
        except KeyError:
            raise UnknownMessageType(self.type) from None
        return cls.model_validate(self.payload)

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes: enough to route, filter and trace without decoding."""
        return {
            "type": self.type,
            "version": str(self.version),
            "message_id": str(self.message_id),
            "correlation_id": self.correlation_id,
        }


# --------------------------------------------------------------------------- credit
@message("commands.credit.reserve")
class ReserveCredit(Command):
    customer_id: str
    amount: Amount
    payment_type: PaymentType


@message("commands.credit.release")
class ReleaseCredit(Command):
    """Undo whatever was done for this transaction: release a hold, refund a capture."""

    customer_id: str
    payment_type: PaymentType


@message("commands.credit.capture")
class CaptureCredit(Command):
    customer_id: str


@message("events.credit.reserved")
class CreditReserved(Event):
    customer_id: str
    amount: Amount


@message("events.credit.reservation_failed")
class CreditReservationFailed(Event):
    customer_id: str
    reason: str


@message("events.credit.released")
class CreditReleased(Event):
    customer_id: str
    returned: Amount = Decimal("0")


@message("events.credit.captured")
class CreditCaptured(Event):
    customer_id: str
    amount: Amount


@message("events.credit.capture_failed")
class CreditCaptureFailed(Event):
    customer_id: str
    reason: str


# --------------------------------------------------------------------------- vehicle
@message("commands.vehicle.reserve")
class ReserveVehicle(Command):
    vehicle_id: str
    customer_id: str
    price: Amount


@message("commands.vehicle.release")
class ReleaseVehicle(Command):
    """Undo whatever was done for this transaction: a reservation, or a sale not yet final."""

    vehicle_id: str


@message("commands.vehicle.mark_sold")
class MarkVehicleSold(Command):
    vehicle_id: str
    customer_id: str
    price: Amount


@message("events.vehicle.reserved")
class VehicleReserved(Event):
    vehicle_id: str


@message("events.vehicle.reservation_failed")
class VehicleReservationFailed(Event):
    vehicle_id: str
    reason: str


@message("events.vehicle.released")
class VehicleReleased(Event):
    vehicle_id: str


@message("events.vehicle.sold")
class VehicleSold(Event):
    vehicle_id: str
    customer_id: str
    price: Amount


@message("events.vehicle.sale_failed")
class VehicleSaleFailed(Event):
    vehicle_id: str
    reason: str


# --------------------------------------------------------------------------- payment
@message("commands.payment.generate_code")
class GeneratePaymentCode(Command):
    customer_id: str
    amount: Amount


@message("commands.payment.refund")
class RefundPayment(Command):
    """Close the transaction's payment code: cancel it if unpaid, refund the payment if paid."""

    customer_id: str
    amount: Amount


@message("events.payment.code_generated")
class PaymentCodeGenerated(Event):
    payment_code: str
    expires_at: AwareDatetime


@message("events.payment.code_issued")
class PaymentCodeIssued(Event):
    """A new code, for the buyer to hear about: cliente-service, which holds the buyer's
    address, e-mails it. It names the customer by id only (no personal data travels); its
    BR Code is what any bank app pays."""

    customer_id: str
    payment_code: str
    amount: Amount
    expires_at: AwareDatetime
    pix_copia_e_cola: str = Field(min_length=1, max_length=512)


@message("events.payment.code_generation_failed")
class PaymentCodeGenerationFailed(Event):
    reason: str


@message("events.payment.processed")
class PaymentProcessed(Event):
    payment_id: str
    payment_code: str
    amount: Amount


@message("events.payment.refunded")
class PaymentRefunded(Event):
    payment_id: str | None = None
    refunded: Amount = Decimal("0")


# --------------------------------------------------------------------------- purchase
@message("events.purchase.ended")
class PurchaseEnded(Event):
    """A purchase reached its end (the orchestrator's saga: COMPLETED, FAILED, CANCELLED or
    EXPIRED), for the buyer to hear of it: cliente-service e-mails a receipt or a notice. Ids
    and amounts only; ``refunded`` is what the buyer's payment was given back."""

    customer_id: str
    vehicle_id: str
    amount: Amount
    status: Literal["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"]
    failure_reason: str | None = Field(None, max_length=64)
    payment_id: str | None = None
    refunded: Amount = Decimal("0")


# --------------------------------------------------------------------------- identity
@message("events.identity.sessions_revoked")
class SessionsRevoked(Event):
    """Tokens of ``subject`` issued before ``version`` are no longer accepted anywhere
    (mercado_shared.sessions). ``transaction_id`` is the revocation's own id."""

    subject: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
