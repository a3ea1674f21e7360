"""The contract's purchase flow, end to end, with real tokens."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import Api


def listing(api: Api, status_filter: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status_filter": status_filter, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get(api.url("veiculo-service", "/vehicles"), params=params).json()
        ids += [v["id"] for v in page["vehicles"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_a_customer_buys_a_vehicle_with_cash(api: Api) -> None:
    vehicle = api.new_vehicle(45900.10)
    customer, me = api.new_customer(balance=50000, credit=10000)
    assert vehicle["id"] in listing(api, "available")

    started = api.purchase(vehicle["id"], me)
    assert (started["status"], started["current_step"]) == ("STARTED", "CREDIT_RESERVATION")
    assert (started["vehicle_price"], started["payment_type"]) == (45900.10, "cash")

    awaiting = api.saga_reaches(started["transaction_id"], me, "AWAITING_PAYMENT")
    assert awaiting["current_step"] == "PAYMENT_PROCESSING" and awaiting["payment_code"]
    assert api.customer(me)["account_balance"] == 4099.90  # held while in progress
    assert vehicle["id"] not in listing(api, "available")
    code = api.client.get(api.url("pagamento-service", f"/payment-codes/{awaiting['payment_code']}"), headers=me).json()
    assert (code["status"], code["amount"], code["transaction_id"]) == ("PENDING", 45900.10, started["transaction_id"])

    paid = api.client.post(
        api.url("pagamento-service", "/payments"),
        json={"payment_code": awaiting["payment_code"], "payment_method": "pix"},
        headers=me,
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["status"], paid.json()["amount"]) == ("COMPLETED", 45900.10)

    done = api.saga_reaches(started["transaction_id"], me, "COMPLETED", "FAILED")
    assert (done["status"], done["current_step"], done["failure_reason"]) == ("COMPLETED", "SAGA_COMPLETE", None)
    assert [h["event"] for h in done["history"]] == [
        "PurchaseRequested",
        "events.credit.reserved",
        "events.vehicle.reserved",
        "events.payment.code_generated",
        "events.payment.processed",
        "events.credit.captured",
        "events.vehicle.sold",
    ]
    after = api.customer(me)
    assert (after["account_balance"], after["used_credit"], after["available_credit"]) == (4099.90, 0, 10000)
    sold = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}"), headers=api.staff()).json()
    assert (sold["is_sold"], sold["is_reserved"], sold["buyer_id"], sold["sold_price"]) == (
        True,
        False,
        customer["id"],
        45900.10,
    )
    assert vehicle["id"] in listing(api, "sold") and vehicle["id"] not in listing(api, "available")
    again = api.client.post(
        api.url("pagamento-service", "/payments"),
        json={"payment_code": awaiting["payment_code"], "payment_method": "pix"},
        headers=me,
    )
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "PAYMENT_CODE_ALREADY_PAID")


def test_a_customer_buys_on_credit(api: Api) -> None:
    vehicle = api.new_vehicle(30000)
    _, me = api.new_customer(balance=0, credit=40000)
    tx = api.purchase(vehicle["id"], me, payment_type="credit")["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    api.client.post(
        api.url("pagamento-service", "/payments"), json={"payment_code": code, "payment_method": "pix"}, headers=me
    )
    assert api.saga_reaches(tx, me, "COMPLETED", "FAILED")["status"] == "COMPLETED"
    after = api.customer(me)
    assert (after["account_balance"], after["used_credit"], after["available_credit"]) == (0, 30000, 10000)


def test_what_cannot_succeed_is_refused_at_once(api: Api) -> None:
    vehicle = api.new_vehicle(80000)
    _, poor = api.new_customer(balance=79999.99, credit=100000)
    refused = api.start(vehicle["id"], poor, payment_type="cash")
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "INSUFFICIENT_FUNDS")
    _, short_of_credit = api.new_customer(balance=100000, credit=79999.99)
    refused = api.start(vehicle["id"], short_of_credit, payment_type="credit")
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "INSUFFICIENT_FUNDS")

    _, buyer = api.new_customer(balance=80000)
    api.saga_reaches(api.purchase(vehicle["id"], buyer)["transaction_id"], buyer, "AWAITING_PAYMENT")
    _, late = api.new_customer(balance=80000)
    refused = api.start(vehicle["id"], late)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "VEHICLE_UNAVAILABLE")
    assert api.customer(late)["account_balance"] == 80000


def test_a_purchase_names_an_existing_vehicle_and_customer(api: Api) -> None:
    vehicle = api.new_vehicle(1000)
    _, me = api.new_customer(balance=2000)
    for vehicle_id in (str(uuid.uuid4()), "not-a-uuid", "../health", "%2e%2e/health"):
        response = api.client.post(
            api.url("orquestrador", "/purchase"), json={"vehicle_id": vehicle_id, "payment_type": "cash"}, headers=me
        )
        assert (response.status_code, response.json()["detail"]["code"]) == (404, "VEHICLE_NOT_FOUND"), vehicle_id
    for customer_id in (str(uuid.uuid4()), "../customers/me"):
        response = api.client.post(
            api.url("orquestrador", "/purchase"),
            json={"vehicle_id": vehicle["id"], "payment_type": "cash", "customer_id": customer_id},
            headers=api.staff(),
        )
        assert (response.status_code, response.json()["detail"]["code"]) == (404, "CUSTOMER_NOT_FOUND"), customer_id
    someone_else = api.client.post(
        api.url("orquestrador", "/purchase"),
        json={"vehicle_id": vehicle["id"], "payment_type": "cash", "customer_id": str(uuid.uuid4())},
        headers=me,
    )
    assert someone_else.status_code == 403
