from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.adapters import orm, psp_signature
from app.bootstrap import bootstrap
from app.config import PagamentoSettings
from mercado_devtools.pix_provider import PixProvider
from mercado_devtools.processes import free_port
from mercado_devtools.testing.helpers import TestClock
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.auth import Role
from mercado_shared.contracts import Envelope, GeneratePaymentCode, Message, RefundPayment
from mercado_shared.runtime import app_runtime

SERVICE_DIR = Path(__file__).resolve().parents[1]
SECRET = "a-webhook-secret-of-the-tests-32-chars"
PIX_SECRET = "the-pix-provider-secret-of-the-tests"
PIX_WEBHOOK_SECRET = "the-pix-webhook-secret-of-the-tests"
TTL = 1800


@dataclass
class Client:
    http: TestClient
    tokens: TestTokens
    clock: TestClock

    def send(self, message: Message) -> None:
        app_runtime(self.http.app).bus.handle(Envelope.wrap(message))

    def new_code(self, amount: str = "45900.10") -> tuple[dict[str, Any], dict[str, str]]:
        """A purchase's code, and its buyer's headers."""
        buyer, tx = str(uuid.uuid4()), str(uuid.uuid4())
        self.send(GeneratePaymentCode(transaction_id=tx, customer_id=buyer, amount=Decimal(amount)))
        headers = self.tokens.headers(buyer, Role.CUSTOMER)
        codes = app_runtime(self.http.app).uow_factory()
        with codes:
            code = codes.codes.for_transaction(tx)
        assert code is not None
        return {"code": code.code, "transaction_id": tx, "customer_id": buyer, "amount": amount}, headers

    def refund(self, code: dict[str, Any]) -> None:
        self.send(
            RefundPayment(transaction_id=code["transaction_id"], customer_id=code["customer_id"], amount=Decimal("1"))
        )

    def pay(self, code: str, headers: dict[str, str]) -> Any:
        return self.http.post("/payments", json={"payment_code": code, "payment_method": "pix"}, headers=headers)

    def notify(self, code: dict[str, Any], amount: Any = None) -> Any:
        """The provider's notification that ``code`` was paid, by default with its own amount."""
        paid = float(Decimal(code["amount"])) if amount is None else amount
        return self.webhook({"payment_code": code["code"], "payment_method": "pix", "amount": paid})

    def published(self, topic: str, transaction_id: str) -> int:
        """Messages of ``topic`` about ``transaction_id`` in the outbox, sent or not."""
        outbox = orm.messaging.outbox
        query = sa.select(sa.func.count()).where(outbox.c.topic == topic, outbox.c.body.contains(f'"{transaction_id}"'))
        uow = app_runtime(self.http.app).uow_factory()
        with uow:
            return int(uow.session.scalar(query) or 0)

    def webhook(self, body: Any, *, secret: str = SECRET, at: int | None = None, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        timestamp = at if at is not None else int(self.clock().timestamp())
        signature = psp_signature.sign(secret.encode(), data, timestamp)
        return self.http.post(
            "/webhooks/psp", content=data, headers={psp_signature.HEADER: signature, "content-type": "application/json"}
        )


@pytest.fixture(scope="session")
def pix_provider() -> Iterator[PixProvider]:
    """The local provider (mercado_devtools.pix_provider), over real HTTP on loopback."""
    with PixProvider("127.0.0.1", free_port(), "pagamento-tests", PIX_SECRET) as provider:
        yield provider


@pytest.fixture
def client(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, pix_provider: PixProvider
) -> Iterator[Client]:
    tokens, clock = TestTokens(), TestClock()
    settings = PagamentoSettings(
        environment="test",
        database_url=migrated_database(SERVICE_DIR),
        pubsub_project_id=project_id,
        payment_code_ttl_seconds=TTL,
        psp_webhook_secret=SECRET,
        pix_api_url=pix_provider.url,
        pix_client_id="pagamento-tests",
        pix_client_secret=PIX_SECRET,
        pix_webhook_secret=PIX_WEBHOOK_SECRET,
    )
    with TestClient(bootstrap(settings, key_source=tokens.key_source(), clock=clock)) as http:
        yield Client(http, tokens, clock)
