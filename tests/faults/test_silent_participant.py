"""A participant that does not answer: the step is retried, then the purchase compensates."""

from __future__ import annotations

import signal

from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api


def test_a_payment_service_that_never_answers_makes_the_purchase_fail_cleanly(
    api: Api, fault_stack: LocalStack
) -> None:
    vehicle = api.new_vehicle(2000)
    _, me = api.new_customer(balance=2000)
    # Frozen: it answers nothing (the other participants were read before the purchase starts).
    pagamento = fault_stack.service("pagamento-service")
    pagamento.signal(signal.SIGSTOP)
    try:
        tx = api.purchase(vehicle["id"], me)["transaction_id"]
        compensating = api.saga_reaches(tx, me, "COMPENSATING", "FAILED")
        assert compensating["failure_reason"] == "PARTICIPANT_TIMEOUT"
        sent = [h["event"] for h in compensating["history"] if h["event"] == "DeadlinePassed"]
        assert len(sent) >= 4  # the code was asked for again before giving up
        staff = api.staff()

        def listed_as_stuck() -> None:  # once its compensation, too, went unanswered past its deadline
            stuck = api.client.get(api.url("orquestrador", "/purchases"), params={"stuck": True}, headers=staff)
            assert tx in {p["transaction_id"] for p in stuck.json()["purchases"]}

        eventually(listed_as_stuck, timeout=20)
    finally:
        pagamento.signal(signal.SIGCONT)  # back: its compensation can complete
    end = api.saga_reaches(tx, me, "FAILED")
    # Its answers to the code requests came after the saga had moved on: recorded, ignored.
    late = eventually(lambda: _late_replies(api, tx, me), timeout=20)
    assert late and all(not h["applied"] for h in late)
    assert (end["failure_reason"], end["current_step"]) == ("PARTICIPANT_TIMEOUT", "COMPENSATION_COMPLETE")
    assert api.customer(me)["account_balance"] == 2000
    stuck = api.client.get(api.url("orquestrador", "/purchases"), params={"stuck": True}, headers=api.staff())
    assert tx not in {p["transaction_id"] for p in stuck.json()["purchases"]}
    failed = api.client.get(api.url("orquestrador", "/purchases"), params={"status": "FAILED"}, headers=api.staff())
    assert tx in {p["transaction_id"] for p in failed.json()["purchases"]}
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)


def _late_replies(api: Api, tx: str, me: dict[str, str]) -> list[dict[str, object]]:
    history = api.saga(tx, me)["history"]
    late = [h for h in history if str(h["event"]).startswith("events.payment.code_generat")]
    assert late, [h["event"] for h in history]
    return late
