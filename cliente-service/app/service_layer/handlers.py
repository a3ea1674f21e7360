"""Commands from the purchase saga. Each answers with an explicit event, never an exception.

Every command is idempotent per transaction id (the hold row is keyed on it), on top of
the inbox's per-message dedupe: a retried command finds the hold and answers the same.
A release that arrives before its reservation leaves a RELEASED tombstone, so the late
reservation is refused instead of holding funds nobody will release.
"""

from __future__ import annotations

from app.domain.model import FailureReason, Hold, HoldStatus, InsufficientFunds
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.contracts import (
    CaptureCredit,
    CreditCaptured,
    CreditCaptureFailed,
    CreditReleased,
    CreditReservationFailed,
    CreditReserved,
    Message,
    ReleaseCredit,
    ReserveCredit,
)
from mercado_shared.messaging.bus import Handlers
from mercado_shared.money import ZERO


def reserve_credit(cmd: ReserveCredit, uow: ClienteUnitOfWork) -> Message:
    def failed(reason: FailureReason) -> CreditReservationFailed:
        return CreditReservationFailed(transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, reason=reason)

    existing = uow.holds.get_for_update(cmd.transaction_id)
    if existing is not None:
        if existing.status in (HoldStatus.HELD, HoldStatus.CAPTURED):
            return CreditReserved(
                transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, amount=existing.amount
            )
        return failed(FailureReason.PURCHASE_ABANDONED)

    customer = uow.customers.get_for_update(cmd.customer_id)
    if customer is None or not customer.is_active:
        uow.holds.add(_rejected(cmd))
        return failed(FailureReason.CUSTOMER_NOT_FOUND)
    try:
        hold = customer.hold(cmd.transaction_id, cmd.payment_type, cmd.amount)
    except InsufficientFunds:
        uow.holds.add(_rejected(cmd))
        return failed(FailureReason.INSUFFICIENT_FUNDS)
    uow.holds.add(hold)
    return CreditReserved(transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, amount=cmd.amount)


def _rejected(cmd: ReserveCredit) -> Hold:
    """Remembers the refusal, so a retried command gets the same answer."""
    return Hold(cmd.transaction_id, cmd.customer_id, cmd.payment_type, ZERO, HoldStatus.REJECTED)


def release_credit(cmd: ReleaseCredit, uow: ClienteUnitOfWork) -> Message:
    hold = uow.holds.get_for_update(cmd.transaction_id)
    returned = ZERO
    if hold is None:
        uow.holds.add(Hold(cmd.transaction_id, cmd.customer_id, cmd.payment_type, ZERO, HoldStatus.RELEASED))
    elif hold.status in (HoldStatus.HELD, HoldStatus.CAPTURED):
        customer = uow.customers.get_for_update(hold.customer_id)
        assert customer is not None, "a hold always belongs to a customer"
        returned = customer.release(hold)
    return CreditReleased(transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, returned=returned)


def capture_credit(cmd: CaptureCredit, uow: ClienteUnitOfWork) -> Message:
    hold = uow.holds.get_for_update(cmd.transaction_id)
    if hold is not None:
        customer = uow.customers.get_for_update(hold.customer_id)
        if customer is not None and customer.capture(hold):
            return CreditCaptured(transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, amount=hold.amount)
    return CreditCaptureFailed(
        transaction_id=cmd.transaction_id, customer_id=cmd.customer_id, reason=FailureReason.NOT_HELD
    )


def build_handlers() -> Handlers[ClienteUnitOfWork]:
    return {ReserveCredit: reserve_credit, ReleaseCredit: release_credit, CaptureCredit: capture_credit}
