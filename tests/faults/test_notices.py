"""A code nobody pays, as its buyer hears of it: the code, a reminder before it expires,
then the notice that the purchase expired. The fault stack's codes live PAYMENT_TTL
seconds, and its reminder comes one second before their end."""

from __future__ import annotations

from email.message import EmailMessage

from tests.e2e.conftest import Api


def plain(mail: EmailMessage) -> str:
    text = mail.get_body(("plain",))
    assert text is not None
    return str(text.get_content())


def test_a_code_that_expires_after_its_reminder_ends_the_purchase_and_the_buyer_is_told(api: Api) -> None:
    customer, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(9000)["id"], buyer)["transaction_id"]
    code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT", "EXPIRED")["payment_code"]
    api.saga_reaches(tx, buyer, "EXPIRED")
    issued, reminder, expired = api.stack.mail.wait_for(customer["email"], count=3, timeout=60)
    assert issued["Subject"] == "Seu Pix para concluir a compra — Mercado Veículo"
    assert reminder["Subject"].startswith("Lembrete: seu Pix expira em ")
    assert expired["Subject"] == "Sua compra não foi concluída — Mercado Veículo"
    assert "expirou" in plain(expired) and "Nenhum valor foi cobrado" in plain(expired) and tx in plain(expired)
    shown = api.client.get(api.url("pagamento-service", f"/payment-codes/{code}"), headers=buyer).json()
    assert shown["status"] == "EXPIRED"
    assert shown["pix_copia_e_cola"] in plain(issued) and shown["pix_copia_e_cola"] in plain(reminder)
