"""Following a purchase without polling: GET /saga-states/{id}?changed_after=…&wait=…
answers when the saga moves, and ?until=STATUS&wait=… when it reaches that status (told
by PostgreSQL NOTIFY, whichever instance moved it)."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Api


def follow(api: Api, tx: str, headers: dict[str, str], after: str, wait: float = 20) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = api.client.get(
        api.url("orquestrador", f"/saga-states/{tx}"),
        params={"changed_after": after, "wait": wait},
        headers=headers,
        timeout=wait + 10,
    )
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def test_a_buyer_follows_a_purchase_with_one_request_per_change(api: Api) -> None:
    _, buyer = api.new_customer(balance=5000)
    tx = api.purchase(api.new_vehicle(4000)["id"], buyer)["transaction_id"]
    saga = api.saga(tx, buyer)
    seen = [saga["status"]]
    requests = 0
    while saga["status"] != "AWAITING_PAYMENT":
        moved, _ = follow(api, tx, buyer, saga["updated_at"])
        assert moved["updated_at"] > saga["updated_at"] or moved["status"] == "AWAITING_PAYMENT"
        saga, requests = moved, requests + 1
        seen.append(saga["status"])
        assert requests <= 6, seen  # one answer per change, not a poll loop
    assert api.pay(saga["payment_code"], buyer).status_code == 201
    while saga["status"] != "COMPLETED":
        saga, _ = follow(api, tx, buyer, saga["updated_at"])
    ended, elapsed = follow(api, tx, buyer, saga["updated_at"], wait=20)
    assert ended["status"] == "COMPLETED" and elapsed < 10  # an ended purchase will not change: no wait


def test_with_no_change_the_answer_comes_after_wait_with_the_same_state(api: Api) -> None:
    _, buyer = api.new_customer(balance=5000)
    tx = api.purchase(api.new_vehicle(4000)["id"], buyer)["transaction_id"]
    awaiting = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")  # it now waits for the buyer
    same, elapsed = follow(api, tx, buyer, awaiting["updated_at"], wait=1)
    assert same["updated_at"] == awaiting["updated_at"] and elapsed >= 1
    older, elapsed = follow(api, tx, buyer, "2020-01-01T00:00:00Z", wait=20)
    assert older["status"] == "AWAITING_PAYMENT" and elapsed < 10  # already newer: at once


def wait_until(api: Api, tx: str, headers: dict[str, str], *statuses: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = api.client.get(
        api.url("orquestrador", f"/saga-states/{tx}"),
        params={"until": list(statuses), "wait": 20},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def test_one_request_waits_across_the_steps_for_the_payment_code(api: Api) -> None:
    _, buyer = api.new_customer(balance=5000)
    tx = api.purchase(api.new_vehicle(4000)["id"], buyer)["transaction_id"]
    saga, _ = wait_until(api, tx, buyer, "AWAITING_PAYMENT")  # asked at once, while it is STARTED
    assert saga["status"] == "AWAITING_PAYMENT" and saga["payment_code"]
    steps = [entry["current_step"] for entry in saga["history"]]
    for step in ("CREDIT_RESERVATION", "VEHICLE_RESERVATION", "PAYMENT_CODE_GENERATION"):
        assert step in steps  # it held the answer through every step on the way
    assert api.pay(saga["payment_code"], buyer).status_code == 201
    done, _ = wait_until(api, tx, buyer, "COMPLETED")
    assert done["status"] == "COMPLETED"


def test_waiting_for_a_status_ends_when_the_purchase_ends_otherwise(api: Api) -> None:
    _, buyer = api.new_customer(balance=5000)
    tx = api.purchase(api.new_vehicle(4000)["id"], buyer)["transaction_id"]
    api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")
    cancelled = api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=buyer)
    assert cancelled.status_code == 202, cancelled.text
    ended, elapsed = wait_until(api, tx, buyer, "COMPLETED")
    assert ended["status"] == "CANCELLED" and elapsed < 10  # not held for the whole wait
