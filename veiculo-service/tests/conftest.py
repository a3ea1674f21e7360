from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import VeiculoSettings
from app.domain.identifiers import renavam_check_digit
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.contracts import Envelope, Message
from mercado_shared.runtime import app_runtime

SERVICE_DIR = Path(__file__).resolve().parents[1]
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


@dataclass
class Client:
    http: TestClient
    tokens: TestTokens
    rng: random.Random = field(default_factory=random.Random)

    def body(self, **overrides: Any) -> dict[str, Any]:
        first_ten = "".join(str(self.rng.randrange(10)) for _ in range(10))
        return {
            "brand": "Volkswagen",
            "model": "Gol",
            "year": 2019,
            "color": "Prata",
            "price": 45900.0,
            "license_plate": "".join(self.rng.choice(LETTERS) for _ in range(3))
            + str(self.rng.randrange(10))
            + self.rng.choice(LETTERS)
            + f"{self.rng.randrange(100):02d}",
            "chassi_number": "".join(self.rng.choice(LETTERS + "0123456789") for _ in range(17)),
            "renavam": first_ten + str(renavam_check_digit(first_ten)),
            **overrides,
        }

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = self.http.post("/vehicles", json=self.body(**overrides), headers=self.tokens.staff())
        assert response.status_code == 201, response.text
        return dict(response.json())

    def send(self, message: Message) -> None:
        """Deliver a saga command the way the push entrypoint does."""
        app_runtime(self.http.app).bus.handle(Envelope.wrap(message))

    def reserve(self, vehicle: dict[str, Any]) -> str:
        from mercado_shared.contracts import ReserveVehicle

        tx = str(uuid.uuid4())
        self.send(
            ReserveVehicle(
                transaction_id=tx, vehicle_id=vehicle["id"], customer_id="c1", price=Decimal(str(vehicle["price"]))
            )
        )
        return tx

    def sell(self, vehicle: dict[str, Any]) -> str:
        from mercado_shared.contracts import MarkVehicleSold

        tx = self.reserve(vehicle)
        self.send(
            MarkVehicleSold(
                transaction_id=tx, vehicle_id=vehicle["id"], customer_id="c1", price=Decimal(str(vehicle["price"]))
            )
        )
        return tx


@pytest.fixture
def client(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, storage_emulator: str
) -> Iterator[Client]:
    tokens = TestTokens()
    settings = service_settings(migrated_database(SERVICE_DIR), project_id, storage_emulator)
    with TestClient(bootstrap(settings, key_source=tokens.key_source())) as http:
        yield Client(http, tokens)


def service_settings(database_url: str, project_id: str, storage_emulator: str, **overrides: Any) -> VeiculoSettings:
    """The service's settings in a test: its own database, the emulators."""
    return VeiculoSettings(
        environment="test",
        database_url=database_url,
        pubsub_project_id=project_id,
        storage_emulator_host=storage_emulator,
        **overrides,
    )
