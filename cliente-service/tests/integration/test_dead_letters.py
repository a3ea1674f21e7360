"""Dead letters over HTTP, on real PostgreSQL and the real emulator: a command that fails
every delivery (a fault in the database) is dead-lettered by Pub/Sub, pushed back to the
service and kept; staff see it decoded, redrive it once the fault is fixed, and set aside
what can never succeed. Each action is audited."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.pubsub import provision
from mercado_devtools.testing.helpers import FAST_DEAD_LETTERS, eventually, serve
from mercado_shared.contracts import Envelope, PaymentType, ReserveCredit
from mercado_shared.messaging import dead_letters
from mercado_shared.messaging.publisher import OutgoingMessage, PubSubPublisher
from mercado_shared.pagination import encode_cursor
from mercado_shared.platform_auth import SharedSecret
from tests.conftest import STAFF

DEAD = "/operations/dead-letters/cliente-service"


@pytest.fixture
def service(settings: ClienteSettings, emulator_host: str, project_id: str) -> Iterator[httpx.Client]:
    with serve(bootstrap(settings)) as url:
        provision(emulator_host, project_id, {"cliente-service": url}, policy=FAST_DEAD_LETTERS)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


@pytest.fixture
def publisher(settings: ClienteSettings, project_id: str) -> Iterator[PubSubPublisher]:
    assert settings.platform_secret is not None
    signer = SharedSecret(settings.platform_secret.get_secret_value()).sign
    publisher = PubSubPublisher(project_id, signer=signer)
    yield publisher
    publisher.close()


def login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    token = client.post("/auth/token", data={"username": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def held(client: httpx.Client, staff: dict[str, str], state: str = "HELD") -> dict[str, dict[str, Any]]:
    page = client.get(DEAD, params={"state": state}, headers=staff)
    assert page.status_code == 200, page.text
    return {d["id"]: d for d in page.json()["dead_letters"]}


def test_a_dead_letter_is_kept_shown_redriven_once_fixed_and_poison_is_set_aside(
    service: httpx.Client, settings: ClienteSettings, publisher: PubSubPublisher, cpf: str
) -> None:
    staff = login(service, *STAFF)
    email = f"{uuid.uuid4().hex}@example.com"
    customer = service.post(
        "/customers",
        json={
            "name": "Ana",
            "email": email,
            "phone": "11912345678",
            "document": cpf,
            "password": "long-enough-password",
            "initial_balance": 1000,
        },
        headers=staff,
    ).json()
    engine = sa.create_engine(settings.database_url)
    broken = "ALTER TABLE holds ADD CONSTRAINT fault_injected CHECK (false) NOT VALID"
    with engine.begin() as connection:
        connection.execute(sa.text(broken))  # every hold now fails: the handler raises

    command = ReserveCredit(
        transaction_id=str(uuid.uuid4()),
        customer_id=customer["id"],
        amount=Decimal("400"),
        payment_type=PaymentType.CASH,
    )
    envelope = Envelope.wrap(command)
    poison = OutgoingMessage(command.TYPE, b"\x00 not an envelope", {"type": command.TYPE, "message_id": "poison-1"})
    sent = OutgoingMessage(command.TYPE, envelope.model_dump_json().encode(), envelope.attributes())
    assert publisher.publish([sent, poison]) == [True, True]
    key = str(envelope.message_id)

    def both_held() -> dict[str, dict[str, Any]]:
        found = held(service, staff)
        assert {key, "poison-1"} <= set(found), found
        return found

    found = eventually(both_held, timeout=60, interval=0.5)
    letter = found[key]
    assert (letter["topic"], letter["correlation_id"]) == (command.TYPE, command.transaction_id)
    assert letter["delivery_attempts"] >= FAST_DEAD_LETTERS.max_delivery_attempts and letter["times_dead"] == 1
    assert letter["message"]["payload"]["customer_id"] == customer["id"]  # decoded
    assert found["poison-1"]["message"] == {"undecodable": True, "bytes": len(poison.data)}

    assert (
        settings.platform_secret is not None
    )  # staff's timeline of the purchase shows it, as the orchestrator reads it
    platform = {"X-Platform-Secret": settings.platform_secret.get_secret_value()}
    story = service.get(f"/internal/transactions/{command.transaction_id}", headers=platform).json()
    assert [(d["id"], d["state"]) for d in story["dead_letters"]] == [(key, "HELD")]

    customer_token = login(service, email, "long-enough-password")
    assert service.get(DEAD, headers=customer_token).status_code == 403
    assert (
        service.post(f"{DEAD}/redrive", json={"all": True, "reason": "mine"}, headers=customer_token).status_code == 403
    )

    not_yet = service.post(f"{DEAD}/redrive", json={"ids": [key], "reason": "try before the fix"}, headers=staff).json()
    assert not_yet["settled"] == [] and "IntegrityError" in not_yet["failed"][key]
    assert "IntegrityError" in held(service, staff)[key]["last_error"]  # still held, with why

    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE holds DROP CONSTRAINT fault_injected"))  # the fix
    fixed = service.post(f"{DEAD}/redrive", json={"all": True, "reason": "holds fixed"}, headers=staff)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["settled"] == [key] and set(fixed.json()["failed"]) == {"poison-1"}
    balance = service.get(f"/customers/{customer['id']}", headers=staff).json()["account_balance"]
    assert balance == 600.0  # handled, once
    again = service.post(f"{DEAD}/redrive", json={"ids": [key], "reason": "twice?"}, headers=staff).json()
    assert again["not_held"] == [key]
    redriven = held(service, staff, "REDRIVEN")[key]
    assert (redriven["reason"], redriven["settled_by"]) == ("holds fixed", letter_subject(staff))

    thrown = service.post(f"{DEAD}/discard", json={"ids": ["poison-1"], "reason": "not a message"}, headers=staff)
    assert thrown.json()["settled"] == ["poison-1"]
    assert held(service, staff) == {}
    assert held(service, staff, "DISCARDED")["poison-1"]["reason"] == "not a message"
    for bad in ({"reason": "nothing named"}, {"ids": [key], "all": True, "reason": "both"}, {"ids": [key]}):
        assert service.post(f"{DEAD}/redrive", json=bad, headers=staff).status_code == 422
    assert service.post(f"{DEAD}/discard", json={"all": True, "reason": "everything"}, headers=staff).status_code == 422

    audit = service.get("/audit-log/customers", headers=staff).json()["entries"]
    actions = [(e["action"], e["details"]["reason"]) for e in audit if e["subject"] == "dead-letters"]
    assert ("dead_letters.redriven", "holds fixed") in actions
    assert ("dead_letters.discarded", "not a message") in actions
    engine.dispose()


def letter_subject(headers: dict[str, str]) -> str:
    token = headers["Authorization"].split()[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return str(claims["sub"])


def test_the_same_dead_letter_pushed_twice_is_kept_once(
    service: httpx.Client, settings: ClienteSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.platform_secret is not None
    secret = {"X-Platform-Secret": settings.platform_secret.get_secret_value()}
    data = base64.b64encode(b'{"not": "an envelope"}').decode()
    body: dict[str, Any] = {
        "message": {
            "data": data,
            "attributes": {"type": "commands.credit.reserve", "message_id": "twice-1", "email": "x@example.com"},
            "messageId": "dead-letter-push-1",
        },
        "subscription": "projects/p/subscriptions/dead-letter.cliente-service.store",
    }
    for _ in range(2):
        assert service.post("/pubsub/dead-letters", json=body, headers=secret).status_code == 204
    assert service.post("/pubsub/dead-letters", json=body).status_code == 401  # only the platform
    staff = login(service, *STAFF)
    assert held(service, staff)["twice-1"]["times_dead"] == 1
    body["message"]["messageId"] = "dead-letter-push-2"  # dead again after a redrive
    assert service.post("/pubsub/dead-letters", json=body, headers=secret).status_code == 204
    assert held(service, staff)["twice-1"]["times_dead"] == 2
    odd = encode_cursor("0246-11-11T16:58:58+21:43", "twice-1")  # an offset PostgreSQL refuses: read as UTC
    assert service.get(DEAD, params={"cursor": odd}, headers=staff).status_code == 200
    assert service.get(DEAD, params={"cursor": "nope"}, headers=staff).status_code == 422

    # A redrive stops when its time is up (within Cloud Run's request timeout) and says so.
    monkeypatch.setattr(dead_letters, "REDRIVE_BUDGET_SECONDS", -1.0)
    cut_short = service.post(f"{DEAD}/redrive", json={"all": True, "reason": "many"}, headers=staff).json()
    assert (cut_short["more"], cut_short["settled"], cut_short["failed"]) == (True, [], {})
    assert held(service, staff)["twice-1"]["last_error"] is None  # untouched, still held
    monkeypatch.undo()
    finished = service.post(f"{DEAD}/redrive", json={"all": True, "reason": "all"}, headers=staff).json()
    assert finished["more"] is False and finished["failed"] == {"twice-1": "undecodable: not an envelope"}
