"""What the buyer hears of a purchase: the mail with its Pix code, over real SMTP, once per
purchase, never to an erased customer."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from app.domain.model import CustomerStatus
from mercado_devtools.mailcatcher import MailCatcher
from mercado_shared.contracts import Envelope, PaymentCodeIssued, PaymentProcessed, PurchaseEnded
from mercado_shared.runtime import app_runtime
from tests.conftest import Client

BR_CODE = (
    "00020101021226760014br.gov.bcb.pix2554pix.example.com/qr/v2/9d36b84fc70b478fb95c12729b90ca25"
    "5204000053039865802BR5915Mercado Veiculo6009Sao Paulo62070503***6304DE3A"
)


def issued(customer_id: str, amount: str = "45900.10") -> PaymentCodeIssued:
    return PaymentCodeIssued(
        transaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        payment_code="MV" + uuid.uuid4().hex[:24].upper(),
        amount=Decimal(amount),
        expires_at=datetime(2099, 12, 1, 18, 30, tzinfo=UTC),
        pix_copia_e_cola=BR_CODE,
    )


def parts(mail: EmailMessage) -> tuple[str, str, bytes]:
    text, page = mail.get_body(("plain",)), mail.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(page, EmailMessage)
    [image] = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<qr>"
    return str(text.get_content()), str(page.get_content()), bytes(image.get_content())


def test_the_buyer_gets_its_code_by_mail_in_portuguese_with_the_qr_and_brasilia_time(
    client: Client, mail: MailCatcher
) -> None:
    customer, _ = client.register(name="Maria <Silva>")
    event = issued(customer["id"])
    app_runtime(client.http.app).bus.handle(Envelope.wrap(event))
    [received] = mail.wait_for(customer["email"])
    assert received["Subject"] == "Seu Pix para concluir a compra — Mercado Veículo"
    text, page, png = parts(received)
    assert BR_CODE in text and BR_CODE in page
    assert "R$ 45.900,10" in text and "01/12/2099 às 15:30 (horário de Brasília)" in text  # UTC−3
    assert "Maria &lt;Silva&gt;" in page and 'src="cid:qr"' in page  # the name escaped
    [read] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert read.text == BR_CODE


def test_one_mail_per_purchase_whatever_delivers_the_event_again(client: Client, mail: MailCatcher) -> None:
    customer, _ = client.register()
    event = issued(customer["id"])
    bus = app_runtime(client.http.app).bus
    envelope = Envelope.wrap(event)
    bus.handle(envelope)
    bus.handle(envelope)  # redelivered: the inbox
    bus.handle(Envelope.wrap(event))  # the same event sent again: the purchase's notice
    other = issued(customer["id"], "10.00")  # another purchase: its own mail, queued after
    bus.handle(Envelope.wrap(other))
    first, second = mail.wait_for(customer["email"], count=2)  # a repeat of the first would come second
    assert "R$ 45.900,10" in parts(first)[0] and "R$ 10,00" in parts(second)[0]


@pytest.mark.parametrize("who", ["erased", "unknown"])
def test_an_erased_or_unknown_customer_hears_nothing(client: Client, mail: MailCatcher, who: str) -> None:
    customer, _ = client.register()
    if who == "erased":
        uow = app_runtime(client.http.app).uow_factory()
        with uow:
            found = uow.customers.get(customer["id"])
            assert found is not None
            found.status = CustomerStatus.ANONYMISED
            uow.commit()
    event = issued(customer["id"] if who == "erased" else str(uuid.uuid4()))
    app_runtime(client.http.app).bus.handle(Envelope.wrap(event))
    uow = app_runtime(client.http.app).uow_factory()
    with uow:
        decided = uow.session.execute(
            sa.text("SELECT count(*) FROM purchase_notices WHERE transaction_id = :t"), {"t": event.transaction_id}
        ).scalar()
        queued = uow.session.execute(sa.text("SELECT count(*) FROM outgoing_mail")).scalar()
    assert (decided, queued) == (1, 0)  # handled, and nothing queued
    assert mail.messages(customer["email"]) == []


def purchase_ended(customer_id: str, status: str, refunded: str = "0", reason: str | None = None) -> PurchaseEnded:
    return PurchaseEnded(
        transaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        vehicle_id=str(uuid.uuid4()),
        amount=Decimal("45900.10"),
        status=status,
        failure_reason=reason,
        payment_id=str(uuid.uuid4()) if status == "COMPLETED" or refunded != "0" else None,
        refunded=Decimal(refunded),
    )


def test_a_receipt_when_the_purchase_completes_and_a_notice_with_the_refund_when_it_does_not(
    client: Client, mail: MailCatcher
) -> None:
    customer, _ = client.register()
    bus = app_runtime(client.http.app).bus
    done = purchase_ended(customer["id"], "COMPLETED")
    bus.handle(Envelope.wrap(done))
    bus.handle(Envelope.wrap(done))  # once per purchase
    refunded = purchase_ended(customer["id"], "FAILED", refunded="45900.10", reason="VEHICLE_UNAVAILABLE")
    bus.handle(Envelope.wrap(refunded))
    expired = purchase_ended(customer["id"], "EXPIRED", reason="PAYMENT_EXPIRED")
    bus.handle(Envelope.wrap(expired))
    by_staff = purchase_ended(customer["id"], "CANCELLED", reason="STAFF_CANCELLED")
    bus.handle(Envelope.wrap(by_staff))
    receipt, failed, late, cancelled = mail.wait_for(customer["email"], count=4)
    assert receipt["Subject"] == "Compra concluída — recibo — Mercado Veículo"
    text = str(receipt.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "R$ 45.900,10" in text and done.transaction_id in text and str(done.payment_id) in text
    assert failed["Subject"] == late["Subject"] == "Sua compra não foi concluída — Mercado Veículo"
    assert "foi devolvido" in str(failed.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    late_text = str(late.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "expirou" in late_text and "Nenhum valor foi cobrado" in late_text
    staff_text = str(cancelled.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "cancelada pela nossa equipe" in staff_text and "como pedido" not in staff_text


def test_a_reminder_comes_before_the_code_expires_unless_the_purchase_ends_first(
    settings: ClienteSettings, mail: MailCatcher
) -> None:
    # A code of 10 s, its reminder due 4 s before the end: a 4 s window for the sender to take
    # it before it is dropped as past the code's expiry (1 s was too tight under CI load).
    with TestClient(bootstrap(settings.model_copy(update={"payment_reminder_before_seconds": 4.0}))) as http:
        client = Client(http)
        bus, uow_factory = app_runtime(http.app).bus, app_runtime(http.app).uow_factory
        customer, _ = client.register()
        soon = issued(customer["id"]).model_copy(update={"expires_at": datetime.now(UTC) + timedelta(seconds=10)})
        bus.handle(Envelope.wrap(soon))
        code_mail, reminder = mail.wait_for(customer["email"], count=2, timeout=30)
        assert code_mail["Subject"] == "Seu Pix para concluir a compra — Mercado Veículo"
        assert reminder["Subject"].startswith("Lembrete: seu Pix expira em ")
        assert BR_CODE in parts(reminder)[0] and "ainda não foi pago" in parts(reminder)[0]

        def queued(transaction_id: str) -> int:
            with uow_factory() as uow:
                query = sa.text(
                    "SELECT count(*) FROM outgoing_mail WHERE transaction_id = :t AND next_attempt_at > now()"
                )
                return int(uow.session.execute(query, {"t": transaction_id}).scalar() or 0)

        later = issued(customer["id"]).model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=5)})
        bus.handle(Envelope.wrap(later))
        assert queued(later.transaction_id) == 1  # its reminder, due in a few minutes
        done = purchase_ended(customer["id"], "COMPLETED").model_copy(update={"transaction_id": later.transaction_id})
        bus.handle(Envelope.wrap(done))
        assert queued(later.transaction_id) == 0  # ended: no reminder
        unpaid = issued(customer["id"]).model_copy(update={"expires_at": datetime.now(UTC) + timedelta(minutes=5)})
        bus.handle(Envelope.wrap(unpaid))
        assert queued(unpaid.transaction_id) == 1
        paid = PaymentProcessed(
            transaction_id=unpaid.transaction_id,
            payment_id=str(uuid.uuid4()),
            payment_code=unpaid.payment_code,
            amount=unpaid.amount,
        )
        bus.handle(Envelope.wrap(paid))
        assert queued(unpaid.transaction_id) == 0  # paid: no reminder either
