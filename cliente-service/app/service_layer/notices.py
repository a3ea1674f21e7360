"""What the buyer hears of a purchase, by e-mail, from the events on the bus. cliente-service
sends it because it holds the address: the events name the customer by id only.

Each notice is decided once per purchase (MailRepository.first_notice) in the handler's
transaction, with the inbox's claim of the event, and queued there (outgoing_mail): a
relay that is down delays it, never the purchase. A customer erased, or unknown, hears
nothing. Nothing here logs an address or a code.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.domain.model import OutgoingMail
from app.service_layer.unit_of_work import ClienteUnitOfWork
from mercado_shared.clock import Clock
from mercado_shared.contracts import Message, PaymentCodeIssued, PaymentProcessed, PurchaseEnded
from mercado_shared.messaging.bus import Handlers

BRASILIA = ZoneInfo("America/Sao_Paulo")
CODE_ISSUED = "code_issued"
ENDED = "ended"
KEPT_FOR = timedelta(days=7)  # how long a receipt or notice waits for a relay that is down


def reais(amount: Decimal) -> str:
    """R$ 45.900,10: Brazilian grouping and decimal comma."""
    grouped = f"{amount:,.2f}"
    return "R$ " + grouped.replace(",", "_").replace(".", ",").replace("_", ".")


def in_brasilia(moment: datetime) -> str:
    return f"{moment.astimezone(BRASILIA):%d/%m/%Y às %H:%M} (horário de Brasília)"


def code_issued_mail(name: str, event: PaymentCodeIssued, reminder: bool = False) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the mail that hands the buyer its Pix code, or
    reminds it of the code before it expires."""
    amount, until = reais(event.amount), in_brasilia(event.expires_at)
    subject = (
        f"Lembrete: seu Pix expira em {event.expires_at.astimezone(BRASILIA):%H:%M} — Mercado Veículo"
        if reminder
        else "Seu Pix para concluir a compra — Mercado Veículo"
    )
    opening = "Seu Pix ainda não foi pago. " if reminder else ""
    text = (
        f"Olá, {name}.\n\n"
        f"{opening}Sua compra está reservada. Para concluí-la, pague {amount} com Pix até {until}.\n\n"
        "No app do seu banco, escolha Pix > Copia e Cola e cole o código abaixo "
        "(ou leia o QR Code que está na versão HTML desta mensagem):\n\n"
        f"{event.pix_copia_e_cola}\n\n"
        "Depois desse horário o código expira e a reserva do veículo é desfeita.\n\n"
        "Mercado Veículo\n"
    )
    page = (
        '<!doctype html><html lang="pt-BR"><body>'
        f"<p>Olá, {html.escape(name)}.</p>"
        f"<p>{opening}Sua compra está reservada. Para concluí-la, pague <strong>{amount}</strong> com Pix "
        f"até <strong>{until}</strong>.</p>"
        "<p>Leia o QR Code no app do seu banco:</p>"
        '<p><img src="cid:qr" alt="QR Code Pix" width="264" height="264"></p>'
        "<p>Ou escolha Pix &gt; Copia e Cola e cole este código:</p>"
        f'<p style="font-family: monospace; word-break: break-all">{html.escape(event.pix_copia_e_cola)}</p>'
        "<p>Depois desse horário o código expira e a reserva do veículo é desfeita.</p>"
        "<p>Mercado Veículo</p></body></html>"
    )
    return subject, text, page


_WHY = {
    "CANCELLED": "foi cancelada, como pedido",
    "EXPIRED": "expirou: o Pix não foi pago no prazo",
    "FAILED": "não pôde ser concluída",
}


def ended_mail(name: str, event: PurchaseEnded) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the receipt (COMPLETED) or of the notice of a
    purchase that ended otherwise, with its refund if any."""
    amount = reais(event.amount)
    if event.status == "COMPLETED":
        subject = "Compra concluída — recibo — Mercado Veículo"
        lines = [
            "Sua compra foi concluída. Este é o seu recibo.",
            f"Valor pago: {amount}",
            f"Compra: {event.transaction_id}",
            f"Pagamento: {event.payment_id}",
            f"Veículo: {event.vehicle_id}",
            "Para retirar o veículo, apresente um documento com foto na loja.",
        ]
    else:
        subject = "Sua compra não foi concluída — Mercado Veículo"
        refund = (
            f"O valor pago, {reais(event.refunded)}, foi devolvido." if event.refunded else "Nenhum valor foi cobrado."
        )
        why = _WHY[event.status]
        if event.failure_reason == "STAFF_CANCELLED":
            why = "foi cancelada pela nossa equipe; responda este e-mail se quiser saber por quê"
        lines = [f"Sua compra de {amount} {why}.", refund, f"Compra: {event.transaction_id}"]
    text = f"Olá, {name}.\n\n" + "\n".join(lines) + "\n\nMercado Veículo\n"
    page = (
        f'<!doctype html><html lang="pt-BR"><body><p>Olá, {html.escape(name)}.</p>'
        + "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        + "<p>Mercado Veículo</p></body></html>"
    )
    return subject, text, page


def build_notice_handlers(clock: Clock, remind_before: timedelta) -> Handlers[ClienteUnitOfWork]:
    def payment_code_issued(event: PaymentCodeIssued, uow: ClienteUnitOfWork) -> list[Message]:
        if not uow.mail.first_notice(event.transaction_id, CODE_ISSUED):
            return []
        customer = uow.customers.get(event.customer_id)
        if customer is None or not customer.is_active:  # erased (or never here): nothing is sent
            return []
        now = clock()
        mails = [(now, *code_issued_mail(customer.name, event))]
        remind_at = event.expires_at - remind_before
        if remind_at - now >= remind_before:  # else the reminder would follow the code's mail closely
            mails.append((remind_at, *code_issued_mail(customer.name, event, reminder=True)))
        for due, subject, text, page in mails:
            # Past its code's expiry a mail is of no use: the sender drops it unsent; and
            # once the purchase ends, what is still queued of it is dropped (purchase_ended).
            uow.mail.add(
                OutgoingMail(
                    str(uuid.uuid4()),
                    customer.email,
                    subject,
                    text,
                    event.expires_at,
                    due,
                    html=page,
                    qr=event.pix_copia_e_cola,
                    transaction_id=event.transaction_id,
                )
            )
        return []

    def purchase_ended(event: PurchaseEnded, uow: ClienteUnitOfWork) -> list[Message]:
        if not uow.mail.first_notice(event.transaction_id, ENDED):
            return []
        uow.mail.drop_queued(event.transaction_id)  # a reminder of its code, now pointless
        customer = uow.customers.get(event.customer_id)
        if customer is None or not customer.is_active:
            return []
        subject, text, page = ended_mail(customer.name, event)
        now = clock()
        # A receipt matters after a week too: undelivered by then, it is a dead letter.
        uow.mail.add(
            OutgoingMail(
                str(uuid.uuid4()), customer.email, subject, text, now + KEPT_FOR, now, html=page, dead_letter=True
            )
        )
        return []

    def payment_processed(event: PaymentProcessed, uow: ClienteUnitOfWork) -> list[Message]:
        uow.mail.drop_queued(event.transaction_id)  # paid: no reminder of its code
        return []

    return {PaymentCodeIssued: payment_code_issued, PurchaseEnded: purchase_ended, PaymentProcessed: payment_processed}
