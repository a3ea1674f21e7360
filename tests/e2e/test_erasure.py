"""LGPD erasure against the whole system: refused while a purchase is in progress, from
the orchestrator's 202 until the purchase ends, then the person is forgotten."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import Api


def code_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"] if response.status_code >= 400 else ""


def erase(api: Api, customer: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return api.client.delete(api.url("cliente-service", f"/customers/{customer['id']}"), headers=headers)


def test_erasure_is_refused_from_the_moment_a_purchase_is_accepted_until_it_ends(api: Api) -> None:
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

    assert erase(api, customer, buyer).status_code == 204
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
