"""A participant that does not answer: the step is retried, then the purchase compensates."""

from __future__ import annotations

import signal

from tests.e2e.conftest import Api
from tests.faults.conftest import LocalStack


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
    finally:
        pagamento.signal(signal.SIGCONT)  # back: its compensation can complete
    end = api.saga_reaches(tx, me, "FAILED")
    assert (end["failure_reason"], end["current_step"]) == ("PARTICIPANT_TIMEOUT", "COMPENSATION_COMPLETE")
    assert api.customer(me)["account_balance"] == 2000
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)
