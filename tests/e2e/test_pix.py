"""A purchase paid as a buyer pays: the code's BR Code, pasted into a bank app (the local
provider's), and the provider's notification to /webhooks/pix over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
from playwright.sync_api import Browser

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api


def br_code_of(api: Api, code: str, buyer: dict[str, str]) -> str:
    read = api.client.get(api.url("pagamento-service", f"/payment-codes/{code}"), headers=buyer)
    assert read.status_code == 200, read.text
    return str(read.json()["pix_copia_e_cola"])


def pay_at_the_bank(api: Api, br_code: str, valor: str | None = None) -> dict[str, Any]:
    paid = httpx.post(f"{api.stack.pix.url}/bank/pay", json={"pix_copia_e_cola": br_code, "valor": valor})
    assert paid.status_code == 200, paid.text
    return dict(paid.json())


def br_code_mailed_to(api: Api, email: str) -> str:
    """The BR Code in the mail the buyer got over SMTP, as a reader copies it."""
    [mail] = api.stack.mail.wait_for(email, timeout=60)
    text = mail.get_body(("plain",))
    assert text is not None
    [line] = [line for line in str(text.get_content()).splitlines() if line.startswith("000201")]
    return line


def test_a_buyer_pays_the_code_mailed_to_it_from_a_bank_app_and_the_purchase_completes(api: Api) -> None:
    customer, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(12000)["id"], buyer)["transaction_id"]
    code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"]
    mailed = br_code_mailed_to(api, customer["email"])
    assert mailed == br_code_of(api, code, buyer)
    paid = pay_at_the_bank(api, mailed)
    assert (paid["txid"], paid["valor"]) == (code, "12000.00")
    api.saga_reaches(tx, buyer, "COMPLETED")

    def delivered() -> None:  # notified once, answered at once
        tries = [status for body, status in api.stack.pix.notified if body["pix"][0]["txid"] == code]
        assert tries == [200], tries

    eventually(delivered, timeout=10)
    _, receipt = api.stack.mail.wait_for(customer["email"], count=2, timeout=60)
    assert receipt["Subject"] == "Compra concluída — recibo — Mercado Veículo"
    body = receipt.get_body(("plain",))
    assert body is not None and tx in str(body.get_content()) and "R$ 12.000,00" in str(body.get_content())


def test_a_notification_of_another_amount_settles_nothing(api: Api) -> None:
    _, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(12000)["id"], buyer)["transaction_id"]
    code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"]
    pay_at_the_bank(api, br_code_of(api, code, buyer), valor="1200.00")

    def kept_for_staff() -> dict[str, Any]:
        listed = api.client.get(api.url("pagamento-service", "/payment-discrepancies"), headers=api.staff()).json()
        kept = [d for d in listed["discrepancies"] if d["payment_code"] == code]
        assert len(kept) == 1, kept
        return dict(kept[0])

    kept = eventually(kept_for_staff, timeout=30)
    assert (kept["expected_amount"], kept["notified_amount"]) == (12000.0, 1200.0)
    assert api.saga(tx, buyer)["status"] == "AWAITING_PAYMENT"  # the purchase still waits for its payment


def test_the_bank_page_pays_a_code_in_a_real_browser(api: Api, browser: Browser) -> None:
    """The local provider's page, as a developer uses it: paste the code, press Pagar."""
    _, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(7000)["id"], buyer)["transaction_id"]
    code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"]
    page = browser.new_page()
    try:
        page.goto(f"{api.stack.pix.url}/bank")
        page.fill("textarea[name=code]", br_code_of(api, code, buyer))
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('result').textContent.includes('endToEndId')")
        paid = json.loads(page.inner_text("#result"))
    finally:
        page.close()
    assert (paid["txid"], paid["valor"]) == (code, "7000.00")
    api.saga_reaches(tx, buyer, "COMPLETED")
