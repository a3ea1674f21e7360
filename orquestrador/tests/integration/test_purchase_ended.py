"""A purchase's end is published once, for the buyer to hear of it (cliente-service mails a
receipt or a notice): ids and amounts, and the refund of a payment made before it failed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.adapters import orm
from mercado_shared.contracts import CreditReleased, Envelope, PaymentRefunded, PurchaseEnded, VehicleReleased
from mercado_shared.runtime import app_runtime
from tests.conftest import AMOUNT, Client


def ended(client: Client, tx: str) -> list[dict[str, Any]]:
    """The purchase's PurchaseEnded events in the outbox, sent or not."""
    outbox = orm.messaging.outbox
    with app_runtime(client.http.app).uow_factory() as uow:
        bodies = uow.session.scalars(
            sa.select(outbox.c.body).where(outbox.c.topic == PurchaseEnded.TYPE, outbox.c.body.contains(tx))
        ).all()
    return [Envelope.model_validate_json(b).payload for b in bodies]


def test_a_completed_purchase_is_published_once_with_its_payment(client: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = client.completed(buyer)
    [event] = ended(client, tx)
    assert (event["status"], event["customer_id"], Decimal(str(event["amount"]))) == ("COMPLETED", buyer, AMOUNT)
    assert event["payment_id"] is not None and Decimal(str(event["refunded"])) == 0
    client.http.post(f"/purchase/{tx}/cancel", headers=client.staff())  # refused: nothing more is published
    assert len(ended(client, tx)) == 1


def test_a_cancelled_purchase_is_published_once_its_compensations_end(client: Client) -> None:
    buyer = str(uuid.uuid4())
    tx = client.awaiting_payment(buyer)
    assert ended(client, tx) == []
    assert client.http.post(f"/purchase/{tx}/cancel", headers=client.headers(buyer)).status_code == 202
    saga = client.http.get(f"/saga-states/{tx}", headers=client.staff()).json()
    assert saga["status"] == "COMPENSATING" and ended(client, tx) == []  # not before its compensations end
    for event in compensations(saga):
        client.reply(event)
    [event] = ended(client, tx)
    assert (event["status"], event["failure_reason"], Decimal(str(event["refunded"]))) == (
        "CANCELLED",
        "CUSTOMER_CANCELLED",
        Decimal("0"),  # no payment was made: nothing to refund
    )


def compensations(saga: dict[str, Any]) -> list[Any]:
    tx, buyer = saga["transaction_id"], saga["customer_id"]
    return [
        PaymentRefunded(transaction_id=tx),
        VehicleReleased(transaction_id=tx, vehicle_id=saga["vehicle_id"]),
        CreditReleased(transaction_id=tx, customer_id=buyer, returned=AMOUNT),
    ]
