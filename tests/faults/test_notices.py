"""A code nobody pays, as its buyer hears of it: the code, a reminder before it expires,
then the notice that the purchase expired. The fault stack's codes live PAYMENT_TTL
seconds, and its reminder comes two seconds before their end."""

from __future__ import annotations

import signal
from email.message import EmailMessage
from typing import Any

import httpx

from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import eventually
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


def test_a_cancel_after_payment_ends_only_once_the_provider_returns_the_pix(api: Api, fault_stack: LocalStack) -> None:
    """The buyer pays from its bank, the sale waits on a frozen veiculo-service, the buyer
    cancels: the purchase is undone, and stays undoing until the provider confirms the
    devolução of the Pix; then it is CANCELLED and the buyer is told what was returned."""
    provider, veiculo = fault_stack.pix, fault_stack.service("veiculo-service")
    provider.auto_refund = False
    try:
        customer, buyer = api.new_customer(balance=20000)
        tx = api.purchase(api.new_vehicle(9000)["id"], buyer)["transaction_id"]
        code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"]
        shown = api.client.get(api.url("pagamento-service", f"/payment-codes/{code}"), headers=buyer).json()
        veiculo.signal(signal.SIGSTOP)
        try:
            paid = httpx.post(f"{provider.url}/bank/pay", json={"pix_copia_e_cola": shown["pix_copia_e_cola"]})
            assert paid.status_code == 200, paid.text
            api.saga_step_reaches(tx, buyer, "MARK_VEHICLE_AS_SOLD")
            cancel = api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=buyer)
            assert cancel.status_code == 202, cancel.text
            refund_id = f"D{tx.replace('-', '')}1"
            eventually(lambda: _asked(provider.refund_of(refund_id)), timeout=30)
        finally:
            veiculo.signal(signal.SIGCONT)

        def vehicle_released() -> None:
            events = [h["event"] for h in api.saga(tx, buyer)["history"]]
            assert "events.vehicle.released" in events, events

        eventually(vehicle_released, timeout=60)
        assert api.saga(tx, buyer)["status"] == "COMPENSATING"  # the devolução is not confirmed yet
        provider.settle_refund(refund_id)
        api.saga_reaches(tx, buyer, "CANCELLED")

        def notice() -> EmailMessage:
            found = [m for m in api.stack.mail.messages(customer["email"]) if "não foi concluída" in m["Subject"]]
            assert len(found) == 1, [m["Subject"] for m in api.stack.mail.messages(customer["email"])]
            return found[0]

        told = eventually(notice, timeout=60)
        assert "foi cancelada" in plain(told) and "R$ 9.000,00, foi devolvido" in plain(told)
    finally:
        provider.auto_refund = True


def _asked(refund: dict[str, Any] | None) -> dict[str, Any]:
    assert refund is not None, "no devolução asked yet"
    return refund
