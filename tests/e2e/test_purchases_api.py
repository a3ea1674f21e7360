"""The orchestrator's API: Idempotency-Key, listing purchases, cancelling."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api


def test_the_same_idempotency_key_returns_the_first_answer_and_starts_one_purchase(api: Api) -> None:
    vehicle = api.new_vehicle(10000)
    _, me = api.new_customer(balance=20000)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.start(vehicle["id"], me, **key)
    assert first.status_code == 202
    api.saga_reaches(first.json()["transaction_id"], me, "AWAITING_PAYMENT")
    again = api.start(vehicle["id"], me, **key)  # the vehicle is reserved now; the answer is the first one
    assert (again.status_code, again.json()) == (202, first.json())
    other_body = api.start(vehicle["id"], me, payment_type="credit", **key)
    assert (other_body.status_code, other_body.json()["detail"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    mine = api.client.get(api.url("orquestrador", "/purchases"), headers=me).json()
    assert [p["transaction_id"] for p in mine["purchases"]] == [first.json()["transaction_id"]]


def test_a_key_is_kept_for_a_day_then_purged_by_the_orchestrator_itself(api: Api, stack: LocalStack) -> None:
    _, me = api.new_customer(balance=20000)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.start(api.new_vehicle(10000)["id"], me, **key)
    assert first.status_code == 202
    engine = sa.create_engine(stack.database_urls["orquestrador"])
    try:
        with engine.begin() as conn:  # as if a day and a minute had passed
            conn.execute(
                sa.text("UPDATE idempotency_keys SET created_at = now() - interval '1441 minutes' WHERE key = :k"),
                {"k": key["Idempotency-Key"]},
            )

        def purged() -> None:  # by the orchestrator's own retention loop
            with engine.connect() as conn:
                query = sa.text("SELECT count(*) FROM idempotency_keys WHERE key = :k")
                assert conn.scalar(query, {"k": key["Idempotency-Key"]}) == 0

        eventually(purged, timeout=15)
    finally:
        engine.dispose()
    api.saga_reaches(first.json()["transaction_id"], me, "AWAITING_PAYMENT")
    again = api.start(api.new_vehicle(10000)["id"], me, **key)  # the key names nothing any more
    assert again.status_code == 202 and again.json()["transaction_id"] != first.json()["transaction_id"]


def test_concurrent_requests_with_one_key_start_one_purchase(api: Api) -> None:
    vehicle = api.new_vehicle(10000)
    _, me = api.new_customer(balance=20000)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.start(vehicle["id"], me, **key), range(8)))
    assert {a.status_code for a in answers} == {202}
    [tx] = {a.json()["transaction_id"] for a in answers}
    assert api.client.get(api.url("orquestrador", "/purchases"), headers=me).json()["total"] == 1
    api.saga_reaches(tx, me, "AWAITING_PAYMENT")
    assert api.customer(me)["account_balance"] == 10000  # held once, not eight times


def test_a_key_belongs_to_its_caller(api: Api) -> None:
    vehicle, other_vehicle = api.new_vehicle(1000), api.new_vehicle(1000)
    _, me = api.new_customer(balance=5000)
    _, you = api.new_customer(balance=5000)
    key = {"Idempotency-Key": "shared-by-accident"}
    mine = api.start(vehicle["id"], me, **key).json()["transaction_id"]
    yours = api.start(other_vehicle["id"], you, **key).json()["transaction_id"]
    assert mine != yours


def test_staff_buy_for_a_named_customer(api: Api) -> None:
    vehicle = api.new_vehicle(1000)
    customer, me = api.new_customer(balance=5000)
    unnamed = api.start(vehicle["id"], api.staff())
    assert (unnamed.status_code, unnamed.json()["detail"]["code"]) == (422, "CUSTOMER_REQUIRED")
    response = api.client.post(
        api.url("orquestrador", "/purchase"),
        json={"vehicle_id": vehicle["id"], "payment_type": "cash", "customer_id": customer["id"]},
        headers=api.staff(),
    )
    assert response.status_code == 202
    assert api.saga(response.json()["transaction_id"], me)["customer_id"] == customer["id"]


def test_a_cancel_while_awaiting_payment_undoes_everything(api: Api) -> None:
    vehicle = api.new_vehicle(12000)
    _, me = api.new_customer(balance=12000)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    _, stranger = api.new_customer(balance=0)
    assert api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=stranger).status_code == 404

    cancelled = api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=me)
    assert cancelled.status_code == 202
    end = api.saga_reaches(tx, me, "CANCELLED", "COMPLETED", "FAILED")
    assert (end["status"], end["failure_reason"], end["current_step"]) == (
        "CANCELLED",
        "CUSTOMER_CANCELLED",
        "COMPENSATION_COMPLETE",
    )
    assert api.customer(me)["account_balance"] == 12000
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)
    paid_late = api.pay(code, me)
    assert (paid_late.status_code, paid_late.json()["detail"]["code"]) == (409, "PAYMENT_CODE_CANCELLED")
    again = api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=me)
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "NOT_CANCELLABLE")


def test_a_buyer_has_few_purchases_in_progress_and_starts_few_a_minute(api: Api) -> None:
    _, me = api.new_customer(balance=100000)
    vehicles = [api.new_vehicle(100) for _ in range(11)]
    answers = [api.start(v["id"], me) for v in vehicles]
    codes = [a.json()["detail"]["code"] if a.status_code != 202 else "started" for a in answers]
    assert codes == ["started"] * 5 + ["TOO_MANY_ACTIVE_PURCHASES"] * 5 + ["TOO_MANY_REQUESTS"]
    assert {a.status_code for a in answers[5:]} == {429}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[5:])
