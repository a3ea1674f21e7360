from __future__ import annotations

import base64
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.mailcatcher import MailCatcher
from mercado_devtools.processes import free_port

SERVICE_DIR = Path(__file__).resolve().parents[1]
STAFF = ("staff@test.local", "staff-test-password")


def make_cpf(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


@pytest.fixture
def cpf() -> str:
    """A valid CPF no other test uses."""
    return make_cpf(random.Random())


@pytest.fixture(scope="session")
def mail() -> Iterator[MailCatcher]:
    """A real SMTP server the service sends to; each test reads the mail of its own customers."""
    with MailCatcher(free_port()) as catcher:
        yield catcher


@pytest.fixture
def settings(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, mail: MailCatcher
) -> ClienteSettings:
    return ClienteSettings(
        # Nothing listens there: what the other services hold cannot be read (the export's 503).
        orquestrador_service_url=f"http://127.0.0.1:{free_port()}",
        pagamento_service_url=f"http://127.0.0.1:{free_port()}",
        veiculo_service_url=f"http://127.0.0.1:{free_port()}",
        smtp_host=mail.host,
        smtp_port=mail.port,
        environment="test",
        database_url=migrated_database(SERVICE_DIR),
        pubsub_project_id=project_id,
        staff_email=STAFF[0],
        staff_password=STAFF[1],
        data_kek=base64.b64encode(os.urandom(32)).decode(),
        # The tests sign in and register from one address, many times; the limits' own
        # tests set them low again.
        login_attempts_per_address=100_000,
        login_failures_per_address=100_000,
        registrations_per_address=100_000,
    )


@dataclass
class Client:
    http: TestClient

    def login(self, email: str, password: str) -> dict[str, str]:
        response = self.http.post("/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def staff(self) -> dict[str, str]:
        return self.login(*STAFF)

    @staticmethod
    def body(**overrides: Any) -> dict[str, Any]:
        return {
            "name": "Maria Silva",
            "email": f"{uuid.uuid4().hex}@example.com",
            "phone": "+55 11 91234-5678",
            "document": make_cpf(random.Random()),
            "password": "a-long-passphrase",
            **overrides,
        }

    def register(
        self, headers: dict[str, str] | None = None, **overrides: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        body = self.body(**overrides)
        response = self.http.post("/customers", json=body, headers=headers or {})
        assert response.status_code == 201, response.text
        return response.json(), self.login(body["email"], body["password"])


@pytest.fixture
def client(settings: ClienteSettings) -> Iterator[Client]:
    with TestClient(bootstrap(settings)) as http:
        yield Client(http)
