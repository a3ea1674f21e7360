"""LGPD erasure against the whole system: refused while a purchase is in progress, from
the orchestrator's 202 until the purchase ends, then the person is forgotten."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from mercado_devtools.stack import LocalStack
from tests.e2e.conftest import Api


def code_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"] if response.status_code >= 400 else ""


def erase(api: Api, customer: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return api.client.delete(api.url("cliente-service", f"/customers/{customer['id']}"), headers=headers)


def customer_key(stack: LocalStack, customer_id: str) -> str | None:
    engine = sa.create_engine(stack.database_urls["cliente-service"])
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT wrapped FROM customer_keys WHERE customer_id = :i")
            wrapped = conn.scalar(query, {"i": customer_id})
            return None if wrapped is None else str(wrapped)
    finally:
        engine.dispose()


def test_erasure_is_refused_from_the_moment_a_purchase_is_accepted_until_it_ends(api: Api, stack: LocalStack) -> None:
    customer, buyer = api.new_customer(balance=50_000)
    vehicle = api.new_vehicle(45_900)
    accepted = api.purchase(vehicle["id"], buyer)  # 202: nothing may be held yet
    assert code_of(erase(api, customer, buyer)) == (409, "PURCHASE_IN_PROGRESS")
    assert code_of(erase(api, customer, api.staff())) == (409, "PURCHASE_IN_PROGRESS")

    transaction = accepted["transaction_id"]
    api.saga_reaches(transaction, buyer, "AWAITING_PAYMENT")  # funds held, car reserved
    assert code_of(erase(api, customer, buyer)) == (409, "PURCHASE_IN_PROGRESS")
    cancel = api.client.post(api.url("orquestrador", f"/purchase/{transaction}/cancel"), headers=buyer)
    assert cancel.status_code == 202
    api.saga_reaches(transaction, buyer, "CANCELLED")

    key_before = customer_key(stack, customer["id"])
    assert key_before is not None
    assert erase(api, customer, buyer).status_code == 204
    assert customer_key(stack, customer["id"]) not in (key_before, None)  # destroyed; placeholders under a new one
    assert erase(api, customer, api.staff()).status_code == 204  # idempotent
    erased = api.client.get(api.url("cliente-service", f"/customers/{customer['id']}"), headers=api.staff()).json()
    assert erased["status"] == "ANONYMISED" and erased["account_balance"] == 50_000
    assert customer["email"] not in str(erased) and customer["name"] not in str(erased)
    login = api.client.post(
        api.url("cliente-service", "/auth/token"), data={"username": customer["email"], "password": "a-long-passphrase"}
    )
    assert login.status_code == 401
    # The purchase stays, linked to the pseudonymous id; the person may come back as new.
    assert api.saga(transaction, api.staff())["customer_id"] == customer["id"]
    again, _ = api.new_customer(balance=0, email=customer["email"])
    assert again["id"] != customer["id"]


def test_the_export_holds_what_every_service_keeps_about_the_customer(api: Api) -> None:
    customer, buyer = api.new_customer(balance=100_000)
    bought, abandoned = api.new_vehicle(45_900), api.new_vehicle(30_000)
    completed = api.purchase(bought["id"], buyer)["transaction_id"]
    code = api.saga_reaches(completed, buyer, "AWAITING_PAYMENT")["payment_code"]
    payment = api.pay(code, buyer).json()
    api.saga_reaches(completed, buyer, "COMPLETED")
    cancelled = api.purchase(abandoned["id"], buyer)["transaction_id"]
    api.saga_reaches(cancelled, buyer, "AWAITING_PAYMENT")
    api.client.post(api.url("orquestrador", f"/purchase/{cancelled}/cancel"), headers=buyer)
    api.saga_reaches(cancelled, buyer, "CANCELLED")
    _, someone_else = api.new_customer(balance=100_000)
    api.purchase(api.new_vehicle(10_000)["id"], someone_else)  # in no one else's export

    response = api.client.get(api.url("cliente-service", f"/customers/{customer['id']}/export"), headers=buyer)
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["email"] == customer["email"] and len(export["document"]) == 11  # unmasked
    assert {p["transaction_id"]: p["status"] for p in export["purchases"]} == {
        completed: "COMPLETED",
        cancelled: "CANCELLED",
    }
    assert {c["transaction_id"] for c in export["payment_codes"]} == {completed, cancelled}
    assert [(p["id"], p["payment_code"], p["amount"]) for p in export["payments"]] == [(payment["id"], code, 45_900)]
    [vehicle] = export["vehicles_bought"]
    assert (vehicle["id"], vehicle["renavam"], vehicle["sold_price"]) == (bought["id"], bought["renavam"], 45_900)
