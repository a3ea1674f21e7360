"""The four services as processes, on the real database and emulator, driven over HTTP."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from mercado_devtools.processes import free_port
from mercado_devtools.stack import LocalStack, StackConfig
from mercado_devtools.testing.browser import real_browser
from mercado_devtools.testing.helpers import eventually
from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
STAFF = ("staff@e2e.local", "staff-e2e-password")
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_everything`` look at what the whole session left behind."""
    items.sort(key=lambda item: item.get_closest_marker("after_everything") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_everything: runs after every other test of the session")


@pytest.fixture(scope="session")
def personal_values() -> set[str]:
    """Every name, email, phone and CPF the session registered through ``Api``."""
    return set()


@pytest.fixture(scope="session")
def stack(pg_admin_url: str, emulator_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    run_dir = tmp_path_factory.mktemp("stack")
    tag = uuid.uuid4().hex[:8]
    with (
        open(run_dir / "services.log", "ab") as log_file,
        LocalStack(
            StackConfig(
                repo_root=ROOT,
                run_dir=run_dir,
                project_id=f"mv-e2e-{tag}",
                database_url=pg_admin_url,
                emulator_host=emulator_host,
                service_ports={s.name: free_port() for s in SERVICES},
                database_prefix=f"e2e_{tag}_",
                log_file=log_file,
                env={
                    "ENVIRONMENT": "test",
                    "STAFF_EMAIL": STAFF[0],
                    "STAFF_PASSWORD": STAFF[1],
                    # Every test signs in from 127.0.0.1, many times: lift the per-address limits
                    # (their own tests set them low: cliente-service's integration suite).
                    "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
                    "LOGIN_FAILURES_PER_ADDRESS": "1000000",
                    "REGISTRATIONS_PER_ADDRESS": "1000000",
                    "REGISTRATION_CONFLICTS_PER_ADDRESS": "1000000",
                    "RETENTION_INTERVAL_SECONDS": "1",  # the purge runs while the tests watch it
                    "TRACE_EXPORTER": "console",  # spans as JSON lines in services.log
                    "OTEL_BSP_SCHEDULE_DELAY": "200",  # exported within 0.2 s of their end, not 5
                    "MV_CLOUD_CALLS_FILE": str(run_dir / "cloud-calls.jsonl"),  # what each service called
                },
            )
        ) as stack,
    ):
        yield stack


@dataclass
class Api:
    """The system as the frontend sees it."""

    stack: LocalStack
    client: httpx.Client
    rng: random.Random
    personal_values: set[str] = field(default_factory=set)

    def url(self, service: str, path: str) -> str:
        return self.stack.url(service) + path

    def login(self, email: str, password: str) -> dict[str, str]:
        response = self.client.post(
            self.url("cliente-service", "/auth/token"), data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def staff(self) -> dict[str, str]:
        return self.login(*STAFF)

    def new_vehicle(self, price: float) -> dict[str, Any]:
        response = self.client.post(
            self.url("veiculo-service", "/vehicles"), json=self.vehicle_body(price), headers=self.staff()
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def vehicle_body(self, price: float) -> dict[str, Any]:
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        first_ten = "".join(str(self.rng.randrange(10)) for _ in range(10))
        weights = (3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
        check = sum(int(d) * w for d, w in zip(first_ten, weights, strict=True)) * 10 % 11 % 10
        return {
            "brand": "Volkswagen",
            "model": "Gol",
            "year": 2019,
            "color": "Prata",
            "price": price,
            "license_plate": "".join(self.rng.choice(letters) for _ in range(3))
            + f"{self.rng.randrange(10)}"
            + self.rng.choice(letters)
            + f"{self.rng.randrange(100):02d}",
            "chassi_number": "".join(self.rng.choice(letters + "0123456789") for _ in range(17)),
            "renavam": first_ten + str(check),
        }

    def new_customer(
        self, balance: float, credit: float = 0, email: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        digits = [self.rng.randrange(10) for _ in range(9)]
        for length in (9, 10):
            total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
            digits.append(total * 10 % 11 % 10)
        email, password = email or f"{uuid.uuid4().hex}@example.com", "a-long-passphrase"
        personal = {
            "name": f"Maria {self.rng.choice(['Silva', 'Souza', 'Lima'])} {uuid.uuid4().hex[:6]}",
            "email": email,
            "phone": f"+55 11 9{self.rng.randrange(10**7, 10**8)}",
            "document": "".join(map(str, digits)),
        }
        self.personal_values.update(personal.values())
        response = self.client.post(
            self.url("cliente-service", "/customers"),
            json={
                **personal,
                "password": password,
                "initial_balance": balance,
                "credit_limit": credit,
            },
            headers=self.staff(),
        )
        assert response.status_code == 201, response.text
        return dict(response.json()), self.login(email, password)

    def customer(self, headers: dict[str, str]) -> dict[str, Any]:
        return dict(self.client.get(self.url("cliente-service", "/customers/me"), headers=headers).json())

    def start(
        self, vehicle_id: str, headers: dict[str, str], payment_type: str = "cash", **extra: str
    ) -> httpx.Response:
        return self.client.post(
            self.url("orquestrador", "/purchase"),
            json={"vehicle_id": vehicle_id, "payment_type": payment_type},
            headers={**headers, **extra},
        )

    def purchase(self, vehicle_id: str, headers: dict[str, str], payment_type: str = "cash") -> dict[str, Any]:
        response = self.start(vehicle_id, headers, payment_type)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def pay(self, code: str, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(
            self.url("pagamento-service", "/payments"),
            json={"payment_code": code, "payment_method": "pix"},
            headers=headers,
        )

    def saga(self, transaction_id: str, headers: dict[str, str]) -> dict[str, Any]:
        response = self.client.get(self.url("orquestrador", f"/saga-states/{transaction_id}"), headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def saga_reaches(self, transaction_id: str, headers: dict[str, str], *statuses: str) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            saga = self.saga(transaction_id, headers)
            assert saga["status"] in statuses, saga["status"]
            return saga

        return eventually(reached, timeout=60)

    def ends(self, started: list[tuple[httpx.Response, dict[str, str]]]) -> list[str]:
        """Each request's end: the code it was refused with at once, or where its saga settled."""
        found = []
        for response, headers in started:
            if response.status_code != 202:
                found.append(str(response.json()["detail"]["code"]))
                continue
            saga = self.saga_reaches(
                response.json()["transaction_id"], headers, "AWAITING_PAYMENT", "FAILED", "COMPLETED"
            )
            found.append(saga["status"] if saga["status"] != "FAILED" else f"FAILED:{saga['failure_reason']}")
        return found

    def saga_step_reaches(self, transaction_id: str, headers: dict[str, str], step: str) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            saga = self.saga(transaction_id, headers)
            assert saga["current_step"] == step, saga["current_step"]
            return saga

        return eventually(reached, timeout=30, interval=0.005)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (mercado_devtools.testing.browser)."""
    with real_browser() as launched:
        yield launched


@pytest.fixture
def api(stack: LocalStack, personal_values: set[str]) -> Iterator[Api]:
    with httpx.Client(timeout=15) as client:
        yield Api(stack, client, random.Random(), personal_values)
