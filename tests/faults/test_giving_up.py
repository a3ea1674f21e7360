"""Customers who give up, and codes nobody pays."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from mercado_shared.platform_auth import SharedSecret
from tests.e2e.conftest import Api


def test_an_unpaid_code_expires_the_purchase_and_undoes_it(api: Api) -> None:
    vehicle = api.new_vehicle(5000)
    _, me = api.new_customer(balance=6000, credit=0)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    end = api.saga_reaches(tx, me, "EXPIRED", "COMPLETED", "FAILED")
    assert (end["status"], end["failure_reason"]) == ("EXPIRED", "PAYMENT_EXPIRED")
    assert api.customer(me)["account_balance"] == 6000
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)
    late = api.pay(code, me)
    assert (late.status_code, late.json()["detail"]["code"]) == (410, "PAYMENT_CODE_EXPIRED")
    # What Cloud Scheduler calls where instances scale to zero: nothing is left due.
    platform = {SharedSecret.HEADER: api.stack.platform_secret}  # locally, the platform's secret
    sweep = api.client.post(api.url("orquestrador", "/internal/deadlines/sweep"), headers=platform)
    assert (sweep.status_code, sweep.json()) == (200, {"handled": 0})


def test_a_payment_racing_the_deadline_has_one_coherent_outcome(api: Api) -> None:
    """Pay at many moments around the deadline: each purchase ends COMPLETED with the
    money kept, or EXPIRED with nothing kept (410, or a refund) — never a mix."""
    vehicles = [api.new_vehicle(1000) for _ in range(8)]
    buyers = [api.new_customer(balance=1000)[1] for _ in vehicles]
    started = [api.purchase(v["id"], b)["transaction_id"] for v, b in zip(vehicles, buyers, strict=True)]
    codes = [api.saga_reaches(tx, b, "AWAITING_PAYMENT") for tx, b in zip(started, buyers, strict=True)]

    def pay_late(i: int) -> int:
        # Fault injection, not synchronisation: pay at a chosen moment around this code's deadline.
        moment = datetime.fromisoformat(codes[i]["payment_expires_at"]) + timedelta(seconds=-0.8 + i * 0.2)
        time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))
        return api.pay(codes[i]["payment_code"], buyers[i]).status_code

    with ThreadPoolExecutor(len(codes)) as pool:
        answers = list(pool.map(pay_late, range(len(codes))))
    for tx, buyer, answer in zip(started, buyers, answers, strict=True):
        end = api.saga_reaches(tx, buyer, "COMPLETED", "EXPIRED", "FAILED", "CANCELLED")
        balance = api.customer(buyer)["account_balance"]
        if end["status"] == "COMPLETED":
            assert (answer, balance) == (201, 0)
        else:
            assert end["status"] == "EXPIRED" and balance == 1000
            assert answer in (201, 410)  # paid in time but after the saga's deadline: refunded


# Where a cancel lands, and the participant frozen (SIGSTOP) so that the saga waits there:
# the one whose answer would move it on. None: the saga waits for the buyer anyway.
CANCEL_POINTS = {
    "STARTED": ("CREDIT_RESERVATION", "cliente-service"),
    "credit held": ("VEHICLE_RESERVATION", "veiculo-service"),
    "vehicle reserved": ("PAYMENT_CODE_GENERATION", "pagamento-service"),
    "AWAITING_PAYMENT": ("PAYMENT_PROCESSING", None),
    "paid": ("MARK_VEHICLE_AS_SOLD", "veiculo-service"),
}


@pytest.mark.parametrize("when", list(CANCEL_POINTS))
def test_a_cancel_at_any_step_lands_there_and_releases_everything(api: Api, when: str) -> None:
    step, frozen = CANCEL_POINTS[when]
    vehicle = api.new_vehicle(3000)
    _, me = api.new_customer(balance=3000)
    participant = api.stack.service(frozen) if frozen else None
    try:
        tx = api.purchase(vehicle["id"], me)["transaction_id"]  # the start asks cliente and veiculo
        if when == "paid":
            code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
            assert participant is not None
            participant.signal(signal.SIGSTOP)  # paying needs pagamento only
            assert api.pay(code, me).status_code == 201
        elif participant is not None:
            participant.signal(signal.SIGSTOP)  # before its step's command can reach it
        api.saga_step_reaches(tx, me, step)
        cancelled = api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=me)
    finally:
        if participant is not None:
            participant.signal(signal.SIGCONT)
    assert cancelled.status_code == 202, cancelled.text
    end = api.saga_reaches(tx, me, "CANCELLED", "COMPLETED", "FAILED")
    assert (end["status"], end["failure_reason"]) == ("CANCELLED", "CUSTOMER_CANCELLED")
    events = [entry["event"] for entry in end["history"]]
    hit = end["history"][events.index("CancelRequested") - 1]  # the state the cancel found
    assert hit["current_step"] == step, end["history"]
    assert api.customer(me)["account_balance"] == 3000
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)


def test_cancels_racing_every_step_never_lose_to_a_late_success(api: Api) -> None:
    """Cancel at a spread of moments after paying, while capture and sale are in flight."""
    vehicles = [api.new_vehicle(700) for _ in range(10)]
    buyers = [api.new_customer(balance=700)[1] for _ in vehicles]
    txs = [api.purchase(v["id"], b)["transaction_id"] for v, b in zip(vehicles, buyers, strict=True)]
    codes = [api.saga_reaches(tx, b, "AWAITING_PAYMENT")["payment_code"] for tx, b in zip(txs, buyers, strict=True)]

    def pay_then_cancel(i: int) -> int:
        api.pay(codes[i], buyers[i])
        time.sleep(i * 0.03)
        return api.client.post(api.url("orquestrador", f"/purchase/{txs[i]}/cancel"), headers=buyers[i]).status_code

    with ThreadPoolExecutor(len(txs)) as pool:
        answers = list(pool.map(pay_then_cancel, range(len(txs))))
    for tx, buyer, answer in zip(txs, buyers, answers, strict=True):
        end = api.saga_reaches(tx, buyer, "CANCELLED", "COMPLETED", "FAILED")
        assert end["status"] == ("CANCELLED" if answer == 202 else "COMPLETED"), (answer, end["status"])
        refunded = end["status"] == "CANCELLED"
        assert api.customer(buyer)["account_balance"] == (700 if refunded else 0)
