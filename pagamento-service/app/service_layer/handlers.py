"""Commands from the purchase saga. Each answers with an explicit event, never an exception.

Idempotent per transaction id (one code per transaction, unique in the database); a code
is a Pix charge at the provider, its txid the code (app.domain.pix). A
refund arriving before the code leaves a CANCELLED tombstone, so a late generation is
refused. Closing a code and paying it lock the same row, so exactly one of them wins.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.domain.codes import new_payment_code
from app.domain.model import CodeStatus, PaymentCode, PaymentStatus
from app.domain.pix import PixCharges, RefundState, dynamic_br_code
from app.service_layer.unit_of_work import PagamentoUnitOfWork
from mercado_shared import metrics
from mercado_shared.clock import Clock
from mercado_shared.contracts import (
    GeneratePaymentCode,
    Message,
    PaymentCodeGenerated,
    PaymentCodeGenerationFailed,
    PaymentCodeIssued,
    PaymentRefunded,
    RefundPayment,
)
from mercado_shared.messaging.bus import Handlers

PURCHASE_ABANDONED = "PURCHASE_ABANDONED"
log = logging.getLogger(__name__)


def build_handlers(
    ttl: timedelta, clock: Clock, charges: PixCharges, merchant: tuple[str, str]
) -> Handlers[PagamentoUnitOfWork]:
    def generate_payment_code(cmd: GeneratePaymentCode, uow: PagamentoUnitOfWork) -> list[Message]:
        code = uow.codes.for_transaction(cmd.transaction_id)
        issued: list[Message] = []
        if code is None:
            code = PaymentCode(
                new_payment_code(), cmd.transaction_id, cmd.customer_id, cmd.amount, CodeStatus.PENDING, clock() + ttl
            )
            # The charge first, then the code: a provider that fails (PixProviderError)
            # rolls the code back and the command is delivered again. A charge whose code
            # did not commit is never shown to anyone, and expires at the provider.
            charge = charges.create_charge(code.code, code.amount, int(ttl.total_seconds()))
            code.pix_location = charge.location
            uow.codes.add(code)
            # Once, with the code: the buyer hears of it (cliente-service e-mails it).
            issued.append(
                PaymentCodeIssued(
                    transaction_id=code.transaction_id,
                    customer_id=code.customer_id,
                    payment_code=code.code,
                    amount=code.amount,
                    expires_at=code.expires_at,
                    pix_copia_e_cola=dynamic_br_code(charge.location, *merchant),
                )
            )
        elif code.status is CodeStatus.CANCELLED:
            return [PaymentCodeGenerationFailed(transaction_id=cmd.transaction_id, reason=PURCHASE_ABANDONED)]
        generated = PaymentCodeGenerated(
            transaction_id=cmd.transaction_id, payment_code=code.code, expires_at=code.expires_at
        )
        return [generated, *issued]

    def refund_payment(cmd: RefundPayment, uow: PagamentoUnitOfWork) -> list[Message]:
        now = clock()
        code = uow.codes.for_transaction(cmd.transaction_id)
        if code is None:
            uow.codes.add(
                PaymentCode(
                    new_payment_code(), cmd.transaction_id, cmd.customer_id, cmd.amount, CodeStatus.CANCELLED, now
                )
            )
            return [PaymentRefunded(transaction_id=cmd.transaction_id)]
        code.close(now)
        payment = uow.payments.for_code(code.code)
        if payment is None:
            return [PaymentRefunded(transaction_id=cmd.transaction_id)]
        refunded = PaymentRefunded(transaction_id=cmd.transaction_id, payment_id=payment.id, refunded=payment.amount)
        if payment.end_to_end_id is None or payment.status is PaymentStatus.REFUNDED:
            payment.refund(now)  # nothing to return at the provider (paid through POST /payments), or returned
            return [refunded]
        # A Pix: its money goes back as a devolução, done when the provider confirms it
        # (here, or in its notification to /webhooks/pix). Until then this answers nothing:
        # the saga's deadline sends this command again, which reads the devolução again.
        refund_id = payment.ask_refund() if payment.status is PaymentStatus.COMPLETED else payment.refund_id
        assert refund_id is not None, "a payment being refunded has asked a devolução"
        state = charges.refund(payment.end_to_end_id, refund_id, payment.amount)
        if state is RefundState.REFUSED:  # the next devolução, or staff, past the bound
            retry = payment.ask_refund()
            if not payment.refund_needs_person:
                state = charges.refund(payment.end_to_end_id, retry, payment.amount)
            else:
                log.warning("a devolução was refused %d times: staff must return it", payment.refund_attempts)
                metrics.REFUNDS_STUCK.inc()
        if state is RefundState.RETURNED:
            payment.refund(now)
            return [refunded]
        return []

    return {GeneratePaymentCode: generate_payment_code, RefundPayment: refund_payment}
