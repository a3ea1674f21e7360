"""The orchestrator's own API on real PostgreSQL: purchases are started by its coordinator
and moved on by the participants' replies, delivered through its message bus as the push
entrypoint would (cliente and veiculo, which a purchase's start asks, run only in the
system suite)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import OrquestradorSettings
from app.domain.saga import start
from app.entrypoints.deps import OrquestradorContext
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.auth import Role
from mercado_shared.contracts import (
    CreditCaptured,
    CreditReserved,
    Envelope,
    Event,
    PaymentCodeGenerated,
    PaymentProcessed,
    PaymentType,
    VehicleReserved,
    VehicleSold,
)
from mercado_shared.runtime import app_context, app_runtime

SERVICE_DIR = Path(__file__).resolve().parents[1]
AMOUNT = Decimal("1000.00")


@dataclass
class Client:
    http: TestClient
    tokens: TestTokens

    def headers(self, subject: str, role: Role = Role.CUSTOMER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token(subject, role)}"}

    def staff(self) -> dict[str, str]:
        return self.headers("staff-1", Role.STAFF)

    def begin(self, customer_id: str) -> str:
        """A purchase accepted for ``customer_id``, as POST /purchase stores it."""
        tx = str(uuid.uuid4())
        decision = start(tx, customer_id, str(uuid.uuid4()), AMOUNT, PaymentType.CASH)
        coordinator = app_context(self.http.app, OrquestradorContext).coordinator
        with app_runtime(self.http.app).uow_factory() as uow:
            coordinator.begin(uow, decision)
            uow.commit()
        return tx

    def reply(self, event: Event) -> None:
        app_runtime(self.http.app).bus.handle(Envelope.wrap(event))

    def awaiting_payment(self, customer_id: str) -> str:
        tx = self.begin(customer_id)
        self.reply(CreditReserved(transaction_id=tx, customer_id=customer_id, amount=AMOUNT))
        vehicle = self.http.get(f"/saga-states/{tx}", headers=self.staff()).json()["vehicle_id"]
        self.reply(VehicleReserved(transaction_id=tx, vehicle_id=vehicle))
        expires = datetime.now(UTC) + timedelta(minutes=30)
        self.reply(PaymentCodeGenerated(transaction_id=tx, payment_code=f"MV{tx[:8]}", expires_at=expires))
        return tx

    def completed(self, customer_id: str) -> str:
        tx = self.awaiting_payment(customer_id)
        saga = self.http.get(f"/saga-states/{tx}", headers=self.staff()).json()
        self.reply(
            PaymentProcessed(
                transaction_id=tx, payment_id=str(uuid.uuid4()), payment_code=saga["payment_code"], amount=AMOUNT
            )
        )
        self.reply(CreditCaptured(transaction_id=tx, customer_id=customer_id, amount=AMOUNT))
        self.reply(VehicleSold(transaction_id=tx, vehicle_id=saga["vehicle_id"], customer_id=customer_id, price=AMOUNT))
        return tx


@pytest.fixture
def client(migrated_database: Callable[[Path], str], emulator_host: str, project_id: str) -> Iterator[Client]:
    tokens = TestTokens()
    settings = OrquestradorSettings(
        environment="test", database_url=migrated_database(SERVICE_DIR), pubsub_project_id=project_id
    )
    with TestClient(bootstrap(settings, key_source=tokens.key_source())) as http:
        yield Client(http, tokens)
