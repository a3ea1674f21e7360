"""A payment event for another amount than the purchase's never completes it: the
orchestrator checks the amount, undoes everything and the buyer can pay nothing more."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

from mercado_devtools.stack import LocalStack
from mercado_shared.contracts import Envelope, PaymentProcessed
from mercado_shared.messaging.publisher import OutgoingMessage, PubSubPublisher
from mercado_shared.platform_auth import SharedSecret
from tests.e2e.conftest import Api


def test_a_payment_event_for_less_than_the_price_undoes_the_purchase(api: Api, fault_stack: LocalStack) -> None:
    vehicle = api.new_vehicle(5000)
    _, me = api.new_customer(balance=6000, credit=0)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]

    # What a participant with a bug (or anyone holding the platform's key) could publish.
    forged = Envelope.wrap(
        PaymentProcessed(transaction_id=tx, payment_id=str(uuid.uuid4()), payment_code=code, amount=Decimal("1.00"))
    )
    os.environ["PUBSUB_EMULATOR_HOST"] = fault_stack.emulator_host
    publisher = PubSubPublisher(fault_stack.config.project_id, signer=SharedSecret(fault_stack.platform_secret).sign)
    try:
        sent = publisher.publish([OutgoingMessage(forged.type, forged.model_dump_json().encode(), forged.attributes())])
        assert sent == [True]
    finally:
        publisher.close()

    end = api.saga_reaches(tx, me, "COMPLETED", "FAILED", "CANCELLED", "EXPIRED")
    assert (end["status"], end["failure_reason"]) == ("FAILED", "AMOUNT_MISMATCH")
    assert api.customer(me)["account_balance"] == 6000
    public = api.client.get(api.url("veiculo-service", f"/vehicles/{vehicle['id']}")).json()
    assert (public["is_reserved"], public["is_sold"]) == (False, False)
    late = api.pay(code, me)  # the code was cancelled with the purchase
    assert (late.status_code, late.json()["detail"]["code"]) == (409, "PAYMENT_CODE_CANCELLED")
