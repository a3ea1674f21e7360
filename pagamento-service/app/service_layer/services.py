"""Use cases behind the HTTP API."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from app.domain.model import (
    AmountDiscrepancy,
    CodeNotPayable,
    CodeStatus,
    Payment,
    PaymentCode,
    PaymentMethod,
    PaymentStatus,
)
from app.service_layer import access
from app.service_layer.unit_of_work import PagamentoUnitOfWork
from mercado_shared.auth import Principal
from mercado_shared.clock import Clock
from mercado_shared.contracts import PaymentProcessed, PaymentRefunded
from mercado_shared.errors import BusinessError, Conflict, Gone, NotFound, Unprocessable

log = logging.getLogger(__name__)

_NOT_PAYABLE: dict[CodeStatus, BusinessError] = {
    CodeStatus.PAID: Conflict("PAYMENT_CODE_ALREADY_PAID", "this code was paid already"),
    CodeStatus.CANCELLED: Conflict("PAYMENT_CODE_CANCELLED", "the purchase of this code was cancelled"),
    CodeStatus.EXPIRED: Gone("PAYMENT_CODE_EXPIRED", "this code expired"),
}


def _code_not_found() -> NotFound:
    return NotFound("PAYMENT_CODE_NOT_FOUND", "no such payment code")


def get_code(uow: PagamentoUnitOfWork, code_value: str, principal: Principal) -> PaymentCode:
    with uow:
        return access.require_visible(principal, uow.codes.get(code_value), _code_not_found())


def pay(
    uow: PagamentoUnitOfWork,
    code_value: str,
    method: PaymentMethod,
    clock: Clock,
    payer: Principal | None,
    notified_amount: Decimal | None = None,
    end_to_end_id: str | None = None,
) -> tuple[Payment, bool]:
    """Pay a code: the payment and the event that advances the purchase commit together.

    ``payer`` is the buyer or staff (POST /payments), or None for the provider's webhook,
    whose repeated notification of a paid code returns that payment (created False).
    ``notified_amount`` is what the provider says was paid: another amount than the code's
    pays nothing, whatever the code's status, and is recorded for staff (AMOUNT_MISMATCH).
    ``end_to_end_id`` names the Pix that paid (the provider's notification): it settles
    one payment, once; another Pix for a code already paid is refused (409), logged for
    staff to return at the provider.
    """
    with uow:
        code = access.require_visible(payer, uow.codes.get(code_value, for_update=True), _code_not_found())
        if notified_amount is not None and notified_amount != code.amount:
            _record_discrepancy(uow, code, notified_amount, method, clock)
            uow.commit()
            raise Unprocessable("AMOUNT_MISMATCH", "the amount paid is not the code's; nothing was paid")
        try:
            payment = code.pay(str(uuid.uuid4()), method, clock(), end_to_end_id)
        except CodeNotPayable as refused:
            existing = uow.payments.for_code(code.code) if payer is None else None
            if refused.status is CodeStatus.PAID and existing is not None:
                if end_to_end_id is None or existing.end_to_end_id in (None, end_to_end_id):
                    return existing, False
                log.warning("a second Pix for a paid code (transaction %s): return it", code.transaction_id)
            uow.commit()  # keep the code's status up to date (e.g. EXPIRED)
            raise _NOT_PAYABLE[refused.status] from None
        uow.payments.add(payment)
        uow.session.flush()
        uow.emit(
            PaymentProcessed(
                transaction_id=code.transaction_id,
                payment_id=payment.id,
                payment_code=code.code,
                amount=payment.amount,
            )
        )
        uow.audit("payment.made", code.transaction_id, payment_id=payment.id, amount=payment.amount)
        uow.commit()
    return payment, True


def _record_discrepancy(
    uow: PagamentoUnitOfWork, code: PaymentCode, notified: Decimal, method: PaymentMethod, clock: Clock
) -> None:
    """One row per code and notified amount; the provider's retries of it only count.
    The code's row lock (held by the caller) serialises notifications of one code."""
    now = clock()
    seen = uow.discrepancies.find(code.code, notified)
    if seen is not None:
        seen.notifications += 1
        seen.last_seen_at = now
    else:
        seen = AmountDiscrepancy(
            id=str(uuid.uuid4()),
            payment_code=code.code,
            transaction_id=code.transaction_id,
            customer_id=code.customer_id,
            expected_amount=code.amount,
            notified_amount=notified,
            method=method,
            notifications=1,
            first_seen_at=now,
            last_seen_at=now,
        )
        uow.discrepancies.add(seen)
    log.warning(
        "payment notification refused: amount %s is not the code's %s (transaction %s, discrepancy %s)",
        notified,
        code.amount,
        code.transaction_id,
        seen.id,
    )


def list_discrepancies(
    uow: PagamentoUnitOfWork, before: tuple[datetime, str] | None, limit: int
) -> tuple[list[AmountDiscrepancy], tuple[datetime, str] | None]:
    with uow:
        page = uow.discrepancies.page(before, limit + 1)
    more, page = len(page) > limit, page[:limit]
    return page, (page[-1].first_seen_at, page[-1].id) if more else None


def held_for_customer(uow: PagamentoUnitOfWork, customer_id: str) -> tuple[list[PaymentCode], list[Payment]]:
    """Every code issued to the customer and every payment it made (its LGPD export)."""
    with uow:
        return uow.codes.of_customer(customer_id), uow.payments.of_customer(customer_id)


def get_payment(uow: PagamentoUnitOfWork, payment_id: str, principal: Principal) -> Payment:
    with uow:
        payment = uow.payments.get(payment_id)
    return access.require_visible(principal, payment, NotFound("PAYMENT_NOT_FOUND", "no such payment"))


def refund_returned(uow: PagamentoUnitOfWork, end_to_end_id: str, refund_id: str, clock: Clock) -> bool:
    """The provider confirmed the devolução ``refund_id`` of the Pix ``end_to_end_id``: the
    payment is refunded and the saga told, once. False if it is not the devolução asked."""
    with uow:
        payment = uow.payments.paid_by(end_to_end_id)
        if payment is None or payment.status is not PaymentStatus.REFUNDING or payment.refund_id != refund_id:
            return False
        _refunded(uow, payment, clock)
        uow.commit()
    return True


def refunds_needing_a_person(uow: PagamentoUnitOfWork) -> list[Payment]:
    with uow:
        return uow.payments.refunds_needing_a_person()


def returned_by_hand(uow: PagamentoUnitOfWork, payment_id: str, clock: Clock) -> Payment:
    """Staff returned a payment the provider would not (after MAX_REFUND_ATTEMPTS
    devoluções): it is refunded and the saga told."""
    with uow:
        payment = uow.payments.get(payment_id)
        if payment is None:
            raise NotFound("PAYMENT_NOT_FOUND", "no such payment")
        if not payment.refund_needs_person:
            raise Conflict("REFUND_NOT_STUCK", "this payment's refund does not wait for a person")
        uow.audit("payment.returned_by_hand", payment.transaction_id, payment_id=payment.id, amount=payment.amount)
        _refunded(uow, payment, clock)
        uow.commit()
    return payment


def _refunded(uow: PagamentoUnitOfWork, payment: Payment, clock: Clock) -> None:
    payment.refund(clock())
    uow.emit(PaymentRefunded(transaction_id=payment.transaction_id, payment_id=payment.id, refunded=payment.amount))
