"""Staff's operations API on real PostgreSQL: search with totals, one purchase's timeline,
and the actions (resend, cancel with a reason, resolve by hand), each audited and shown in
the timeline. The participants' records are read in the system suite (tests/e2e), where
they run; here they do not answer, and the timeline says so."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import OrquestradorSettings
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.contracts import CreditReleased, CreditReservationFailed, VehicleReleased
from mercado_shared.pagination import encode_cursor
from tests.conftest import AMOUNT, SERVICE_DIR, Client

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers


class Clock:
    """The orchestrator's clock, moved forward by the test (its deadlines, its stuck ones)."""

    ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


CLOCK = Clock()


@pytest.fixture
def ops(migrated_database: Callable[[Path], str], emulator_host: str, project_id: str) -> Iterator[Client]:
    tokens = TestTokens()
    settings = OrquestradorSettings(
        environment="test",
        database_url=migrated_database(SERVICE_DIR),
        pubsub_project_id=project_id,
        cliente_service_url=NOWHERE,
        veiculo_service_url=NOWHERE,
        pagamento_service_url=NOWHERE,
        participant_timeout_seconds=1,
        deadline_sweep_interval_seconds=3600,  # the test moves the clock; only it acts on deadlines
    )
    CLOCK.ahead = timedelta(0)
    with TestClient(bootstrap(settings, key_source=tokens.key_source(), clock=CLOCK)) as http:
        yield Client(http, tokens)


def search(ops: Client, **params: Any) -> dict[str, Any]:
    answer = ops.http.get("/operations/purchases", params=params, headers=ops.staff())
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ids(page: dict[str, Any]) -> list[str]:
    return [p["transaction_id"] for p in page["purchases"]]


def timeline(ops: Client, tx: str) -> dict[str, Any]:
    answer = ops.http.get(f"/operations/purchases/{tx}", headers=ops.staff())
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def act(ops: Client, tx: str, action: str, reason: str = "staff checked the participant") -> Any:
    return ops.http.post(f"/operations/purchases/{tx}/{action}", json={"reason": reason}, headers=ops.staff())


def test_only_staff_reach_the_operations_api(ops: Client) -> None:
    tx = ops.begin(str(uuid.uuid4()))
    customer = ops.headers(str(uuid.uuid4()))
    for method, path in [
        ("GET", "/operations/purchases"),
        ("GET", "/operations/overview"),
        ("GET", f"/operations/purchases/{tx}"),
        ("POST", f"/operations/purchases/{tx}/resend"),
        ("POST", f"/operations/purchases/{tx}/cancel"),
        ("POST", f"/operations/purchases/{tx}/resolve"),
    ]:
        body = {"reason": "trying my luck"} if method == "POST" else None
        assert ops.http.request(method, path, json=body).status_code == 401
        refused = ops.http.request(method, path, json=body, headers=customer)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "FORBIDDEN"), path


def test_staff_search_by_every_filter_with_totals_per_status_and_cursors(ops: Client) -> None:
    me, you = str(uuid.uuid4()), str(uuid.uuid4())
    waiting = [ops.awaiting_payment(me), ops.awaiting_payment(me)]
    started = ops.begin(me)
    done = ops.completed(me)
    refused = ops.begin(you)
    ops.reply(CreditReservationFailed(transaction_id=refused, customer_id=you, reason="INSUFFICIENT_FUNDS"))

    mine = search(ops, customer_id=me)
    assert ids(mine) == [done, started, *reversed(waiting)]  # newest first
    assert mine["totals"]["AWAITING_PAYMENT"] == 2 and mine["totals"]["COMPLETED"] == 1
    assert mine["totals"]["STARTED"] == 1 and mine["totals"]["FAILED"] == 0

    one_status = search(ops, customer_id=me, status="AWAITING_PAYMENT")
    assert set(ids(one_status)) == set(waiting)
    assert one_status["totals"] == mine["totals"]  # the counts beside each status ignore the status chosen
    assert set(ids(search(ops, customer_id=me, status=["STARTED", "COMPLETED"]))) == {started, done}
    assert ids(search(ops, failure_reason="INSUFFICIENT_FUNDS", customer_id=you)) == [refused]
    assert ids(search(ops, step="CREDIT_RESERVATION", customer_id=me)) == [started]
    assert set(ids(search(ops, step="PAYMENT_PROCESSING", customer_id=me))) == set(waiting)
    assert ids(search(ops, step="SAGA_COMPLETE", customer_id=me)) == [done]
    vehicle = timeline(ops, done)["purchase"]["vehicle_id"]
    assert ids(search(ops, vehicle_id=vehicle)) == [done]

    created = {p["transaction_id"]: p["created_at"] for p in mine["purchases"]}
    window = search(ops, customer_id=me, created_from=created[started], created_to=created[done])
    assert ids(window) == [started]  # from inclusive, to exclusive
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert search(ops, created_from=future)["purchases"] == []

    seen: list[str] = []
    cursor = None
    while True:
        page = search(ops, customer_id=me, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids(mine)

    # Times Python takes and PostgreSQL would not (an offset beyond ±15:59, a year UTC cannot
    # hold): answered as UTC, never a 500.
    for odd in ("0246-11-11T16:58:58+21:43", "0001-01-01T00:00:00+10:00", "9999-12-31T23:59:59-10:00"):
        answer = ops.http.get("/operations/purchases", params={"created_from": odd}, headers=ops.staff())
        assert answer.status_code == 200, (odd, answer.text)
    forged = encode_cursor("0246-11-11T16:58:58+21:43", done)
    assert ops.http.get("/operations/purchases", params={"cursor": forged}, headers=ops.staff()).status_code == 200
    assert ops.http.get("/purchases", params={"cursor": forged}, headers=ops.staff()).status_code == 200
    for bad in ({"status": "LOST"}, {"step": "NOWHERE"}, {"created_from": "yesterday"}, {"cursor": "nope"}):
        answer = ops.http.get("/operations/purchases", params=bad, headers=ops.staff())
        assert answer.status_code == 422, bad


def test_a_stuck_purchase_is_found_resent_and_the_resend_is_in_its_timeline(ops: Client) -> None:
    buyer = str(uuid.uuid4())
    stuck = ops.begin(buyer)
    fine = ops.awaiting_payment(buyer)
    found = search(ops, customer_id=buyer, stuck="true")
    assert found["purchases"] == []
    CLOCK.ahead = timedelta(minutes=2)  # past the first step's deadline (the sweeper would resend it then)
    found = search(ops, customer_id=buyer, stuck="true")
    assert ids(found) == [stuck] and found["purchases"][0]["stuck"] is True
    CLOCK.ahead = timedelta(0)

    resent = act(ops, stuck, "resend", "cliente-service is back")
    assert resent.status_code == 202, resent.text
    assert resent.json()["commands"] == ["commands.credit.reserve"]
    assert resent.json()["purchase"]["attempts"] == 1  # a resend does not spend an attempt

    story = timeline(ops, stuck)
    sent = [m for m in story["messages"]["orquestrador"]["outbox"] if m["topic"] == "commands.credit.reserve"]
    assert len(sent) == 2  # the first send and the resend, both in the outbox
    [action] = [e for e in story["timeline"] if e["kind"] == "action" and e["name"] == "purchase.step_resent"]
    assert action["actor"] == "staff-1" and action["reason"] == "cliente-service is back"
    assert action["result"]["commands"] == ["commands.credit.reserve"]
    inputs = [e for e in story["timeline"] if e["kind"] == "input"]
    assert [e["name"] for e in inputs] == ["PurchaseRequested", "ResendRequested"]
    assert inputs[0]["commands"] == ["commands.credit.reserve"] and inputs[0]["attempt"] == 1
    assert inputs[1]["deadline_at"] is not None
    assert story["timeline"].index(action) < story["timeline"].index(inputs[1])  # the action, then what it caused
    assert [s["state"] for s in story["steps"]][:2] == ["current", "pending"]
    for service in ("cliente-service", "veiculo-service", "pagamento-service"):
        assert story["participants"][service]["unavailable"]  # said, not hidden, and the rest still answered

    nothing = act(ops, fine, "resend")  # awaiting the buyer's payment: no command awaits an answer
    assert (nothing.status_code, nothing.json()["detail"]["code"]) == (409, "NOTHING_TO_RESEND")
    unknown = act(ops, str(uuid.uuid4()), "resend")
    assert (unknown.status_code, unknown.json()["detail"]["code"]) == (404, "PURCHASE_NOT_FOUND")
    assert ops.http.get("/operations/purchases/not-a-uuid", headers=ops.staff()).status_code == 404


def test_staff_cancel_with_a_reason_and_resolve_a_compensation_that_cannot_complete(ops: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = ops.awaiting_payment(buyer)
    too_early = act(ops, tx, "resolve", "nothing to resolve yet")
    assert (too_early.status_code, too_early.json()["detail"]["code"]) == (409, "NOT_COMPENSATING")
    no_reason = ops.http.post(f"/operations/purchases/{tx}/cancel", json={}, headers=ops.staff())
    assert no_reason.status_code == 422

    cancelled = act(ops, tx, "cancel", "the buyer called: the car has a dent")
    assert cancelled.status_code == 202, cancelled.text
    assert set(cancelled.json()["commands"]) == {
        "commands.credit.release",
        "commands.vehicle.release",
        "commands.payment.refund",
    }
    purchase = cancelled.json()["purchase"]
    assert (purchase["status"], purchase["failure_reason"]) == ("COMPENSATING", "STAFF_CANCELLED")
    again = act(ops, tx, "cancel")
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "NOT_CANCELLABLE")

    ops.reply(CreditReleased(transaction_id=tx, customer_id=buyer, returned=AMOUNT))
    ops.reply(VehicleReleased(transaction_id=tx, vehicle_id=purchase["vehicle_id"]))
    # The refund never comes back (the provider refuses it): staff returned the money by hand.
    resolved = act(ops, tx, "resolve", "refunded by bank transfer, ticket 4521")
    assert resolved.status_code == 202, resolved.text
    ended = resolved.json()["purchase"]
    assert (ended["status"], ended["current_step"], ended["awaiting_compensations"]) == (
        "CANCELLED",
        "COMPENSATION_COMPLETE",
        [],
    )
    assert (act(ops, tx, "resolve").status_code, act(ops, tx, "resend").status_code) == (409, 409)

    story = timeline(ops, tx)
    actions = [(e["name"], e["reason"]) for e in story["timeline"] if e["kind"] == "action"]
    assert actions == [
        ("purchase.cancelled", "the buyer called: the car has a dent"),
        ("purchase.resolved_by_hand", "refunded by bank transfer, ticket 4521"),
    ]
    undone = {s["name"]: s["compensation_state"] for s in story["steps"]}
    assert undone["CREDIT_RESERVATION"] == undone["VEHICLE_RESERVATION"] == "done"
    assert undone["PAYMENT_CODE_GENERATION"] is None  # never confirmed: resolved by hand
    audit = ops.http.get("/audit-log/purchases", headers=ops.staff()).json()["entries"]
    assert {e["action"] for e in audit if e["subject"] == tx} == {"purchase.cancelled", "purchase.resolved_by_hand"}


def test_the_overview_counts_purchases_by_status_stuck_ones_and_completions_per_hour(ops: Client) -> None:
    buyer = str(uuid.uuid4())
    ops.completed(buyer)
    ops.completed(buyer)
    ops.awaiting_payment(buyer)
    seen = ops.http.get("/operations/overview", headers=ops.staff()).json()
    assert seen["by_status"]["COMPLETED"] >= 2 and seen["by_status"]["AWAITING_PAYMENT"] >= 1
    assert sum(h["completed"] for h in seen["completed_per_hour"]) == seen["by_status"]["COMPLETED"]
    assert seen["stuck"] == 0
