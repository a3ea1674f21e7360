"""A message delivered again has no second effect: real PostgreSQL, real emulator, real push."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.pubsub import provision
from mercado_devtools.testing.helpers import TopicTap, eventually, serve
from mercado_shared.contracts import CreditReserved, Envelope, PaymentType, ReserveCredit
from mercado_shared.messaging.publisher import OutgoingMessage, PubSubPublisher
from mercado_shared.platform_auth import SharedSecret
from tests.conftest import STAFF


@pytest.fixture
def service(settings: ClienteSettings, emulator_host: str, project_id: str) -> Iterator[httpx.Client]:
    with serve(bootstrap(settings)) as url:
        provision(emulator_host, project_id, {"cliente-service": url})
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


def staff_headers(client: httpx.Client) -> dict[str, str]:
    token = client.post("/auth/token", data={"username": STAFF[0], "password": STAFF[1]}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def duplicates_seen(client: httpx.Client) -> float:
    pattern = (
        r'messages_handled_total\{outcome="duplicate",service="cliente-service",type="commands.credit.reserve"\} (\S+)'
    )
    found = re.search(pattern, client.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


def test_a_redelivered_reservation_holds_the_funds_once(
    service: httpx.Client, settings: ClienteSettings, project_id: str, cpf: str
) -> None:
    staff = staff_headers(service)
    customer = service.post(
        "/customers",
        json={
            "name": "Ana",
            "email": f"{uuid.uuid4().hex}@example.com",
            "phone": "11912345678",
            "document": cpf,
            "password": "long-enough-password",
            "initial_balance": 1000,
        },
        headers=staff,
    ).json()
    replies = TopicTap(project_id, CreditReserved.TYPE)
    assert settings.platform_secret is not None
    publisher = PubSubPublisher(project_id, signer=SharedSecret(settings.platform_secret.get_secret_value()).sign)
    command = ReserveCredit(
        transaction_id=str(uuid.uuid4()),
        customer_id=customer["id"],
        amount=Decimal("400.00"),
        payment_type=PaymentType.CASH,
    )
    envelope = Envelope.wrap(command)
    duplicates_before = duplicates_seen(service)
    try:
        # The same envelope twice (a lost ack, a relay that published twice) ...
        message = OutgoingMessage(command.TYPE, envelope.model_dump_json().encode(), envelope.attributes())
        assert publisher.publish([message, message]) == [True, True]
        eventually(lambda: replies.expect(1))
        eventually(lambda: _check(duplicates_seen(service) >= duplicates_before + 1))
        # ... and the same command again as a new message (the saga retrying a step).
        retry = Envelope.wrap(command)
        assert publisher.publish([OutgoingMessage(command.TYPE, retry.model_dump_json().encode(), retry.attributes())])
        eventually(lambda: replies.expect(2))
    finally:
        publisher.close()
        replies.close()

    assert {r.open() for r in replies.received} == {
        CreditReserved(transaction_id=command.transaction_id, customer_id=customer["id"], amount=Decimal("400.00"))
    }
    assert len(replies.received) == 2  # one reply per distinct message, none for the duplicate
    after = service.get(f"/customers/{customer['id']}", headers=staff).json()
    assert after["account_balance"] == 600.0  # held once


def _check(condition: bool) -> None:
    assert condition
