"""The orchestrator's purchase routes: who sees a purchase, listings and their cursors,
what cannot be cancelled, and the long poll's parameters (moved here from the system
suite: none of them needs the other services)."""

from __future__ import annotations

import uuid

from tests.conftest import Client


def test_a_purchase_is_private_to_its_buyer_and_staff(client: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = client.begin(buyer)
    assert client.http.get(f"/saga-states/{tx}", headers=client.headers(buyer)).status_code == 200
    assert client.http.get(f"/saga-states/{tx}", headers=client.headers(str(uuid.uuid4()))).status_code == 404
    assert client.http.get(f"/saga-states/{tx}", headers=client.staff()).status_code == 200
    assert client.http.get(f"/saga-states/{tx}").status_code == 401
    for other in (str(uuid.uuid4()), "not-a-uuid"):  # unknown and malformed: the same answer
        unknown = client.http.get(f"/saga-states/{other}", headers=client.staff())
        assert (unknown.status_code, unknown.json()["detail"]["code"]) == (404, "PURCHASE_NOT_FOUND")


def test_buyers_list_their_purchases_and_staff_list_all_by_status(client: Client) -> None:
    me, you = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [client.awaiting_payment(me), client.begin(me), client.awaiting_payment(me)]
    yours = client.awaiting_payment(you)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.http.get("/purchases", params=params, headers=client.headers(me)).json()
        assert page["total"] == 3
        seen += [p["transaction_id"] for p in page["purchases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(mine))  # newest first, each once, nobody else's
    staff = client.http.get("/purchases", params={"status": "AWAITING_PAYMENT"}, headers=client.staff()).json()
    assert {p["transaction_id"] for p in staff["purchases"]} == {mine[0], mine[2], yours}
    assert staff["total"] == 3
    bad = client.http.get("/purchases", params={"cursor": "nope"}, headers=client.headers(me))
    assert (bad.status_code, bad.json()["detail"]["code"]) == (422, "INVALID_CURSOR")


def test_a_completed_purchase_cannot_be_cancelled(client: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = client.completed(buyer)
    assert client.http.get(f"/saga-states/{tx}", headers=client.headers(buyer)).json()["status"] == "COMPLETED"
    for who in (client.headers(buyer), client.staff()):
        refused = client.http.post(f"/purchase/{tx}/cancel", headers=who)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "NOT_CANCELLABLE")
    stranger = client.http.post(f"/purchase/{tx}/cancel", headers=client.headers(str(uuid.uuid4())))
    assert (stranger.status_code, stranger.json()["detail"]["code"]) == (404, "PURCHASE_NOT_FOUND")


def test_bad_long_poll_parameters_are_422(client: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = client.begin(buyer)
    cases: list[dict[str, str | int]] = [
        {"wait": 26},
        {"wait": -1},
        {"changed_after": "2026-01-01T00:00:00", "wait": 1},  # a naive time is ambiguous
        {"until": "SHIPPED", "wait": 1},
    ]
    for params in cases:
        response = client.http.get(f"/saga-states/{tx}", params=params, headers=client.headers(buyer))
        assert response.status_code == 422, (params, response.text)
