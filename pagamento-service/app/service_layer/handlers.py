"""Commands from the purchase saga. Each answers with an explicit event, never an exception.

Idempotent per transaction id (one code per transaction, unique in the database); a code
is a Pix charge at the provider, its txid the code (app.domain.pix). A
refund arriving before the code leaves a CANCELLED tombstone, so a late generation is
refused. Closing a code and paying it lock the same row, so exactly one of them wins.
"""

from __future__ import annotations

from datetime import timedelta

from app.domain.codes import new_payment_code
from app.domain.model import CodeStatus, PaymentCode
from app.domain.pix import PixCharges, dynamic_br_code
from app.service_layer.unit_of_work import PagamentoUnitOfWork
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

    def refund_payment(cmd: RefundPayment, uow: PagamentoUnitOfWork) -> Message:
        now = clock()
        code = uow.codes.for_transaction(cmd.transaction_id)
        if code is None:
            uow.codes.add(
                PaymentCode(
                    new_payment_code(), cmd.transaction_id, cmd.customer_id, cmd.amount, CodeStatus.CANCELLED, now
                )
            )
            return PaymentRefunded(transaction_id=cmd.transaction_id)
        code.close(now)
        payment = uow.payments.for_code(code.code)
        if payment is None:
            return PaymentRefunded(transaction_id=cmd.transaction_id)
        payment.refund(now)
        return PaymentRefunded(transaction_id=cmd.transaction_id, payment_id=payment.id, refunded=payment.amount)

    return {GeneratePaymentCode: generate_payment_code, RefundPayment: refund_payment}
