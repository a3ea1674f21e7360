"""Every id path, tried with another customer's token: nothing is shown, nothing changes."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from mercado_devtools.stack import LocalStack
from mercado_shared.contracts import Envelope, PaymentType, ReleaseCredit
from mercado_shared.registry import SERVICES
from tests.e2e.conftest import Api


@pytest.fixture
def victim(api: Api) -> dict[str, Any]:
    """A customer with a purchase awaiting payment, a completed one, a code and a payment."""
    customer, headers = api.new_customer(balance=50000, credit=1000)
    pending = api.purchase(api.new_vehicle(1000)["id"], headers)["transaction_id"]
    pending_code = api.saga_reaches(pending, headers, "AWAITING_PAYMENT")["payment_code"]
    done_vehicle = api.new_vehicle(2000)
    done = api.purchase(done_vehicle["id"], headers)["transaction_id"]
    payment = api.pay(api.saga_reaches(done, headers, "AWAITING_PAYMENT")["payment_code"], headers).json()
    api.saga_reaches(done, headers, "COMPLETED")
    return {
        "customer": customer,
        "headers": headers,
        "pending": pending,
        "pending_code": pending_code,
        "payment": payment,
        "vehicle": done_vehicle,
    }


def test_another_customer_reaches_none_of_it(api: Api, victim: dict[str, Any]) -> None:
    _, intruder = api.new_customer(balance=50000)
    cid, tx, code, pid = victim["customer"]["id"], victim["pending"], victim["pending_code"], victim["payment"]["id"]

    def c(path: str) -> str:
        return api.url("cliente-service", path)

    def o(path: str) -> str:
        return api.url("orquestrador", path)

    def p(path: str) -> str:
        return api.url("pagamento-service", path)

    attempts = [
        ("GET", c(f"/customers/{cid}"), None),
        ("PATCH", c(f"/customers/{cid}"), {"phone": "+55 11 90000-0000"}),
        ("GET", c(f"/customers/{cid}/export"), None),
        ("DELETE", c(f"/customers/{cid}"), None),
        ("GET", o(f"/saga-states/{tx}"), None),
        ("POST", o(f"/purchase/{tx}/cancel"), None),
        ("GET", p(f"/payment-codes/{code}"), None),
        ("POST", p("/payments"), {"payment_code": code, "payment_method": "pix"}),
        ("GET", p(f"/payments/{pid}"), None),
    ]
    for method, url, body in attempts:
        response = api.client.request(method, url, json=body, headers=intruder)
        assert response.status_code == 404, (method, url, response.status_code)  # existence does not leak
    listed = api.client.get(o("/purchases"), headers=intruder).json()["purchases"]
    assert tx not in {p["transaction_id"] for p in listed}

    # Nothing changed for the victim.
    me = victim["headers"]
    assert api.customer(me)["phone"] == victim["customer"]["phone"]
    assert api.saga(tx, me)["status"] == "AWAITING_PAYMENT"
    assert api.client.get(p(f"/payment-codes/{code}"), headers=me).json()["status"] == "PENDING"


def test_customers_reach_no_staff_function(api: Api, victim: dict[str, Any]) -> None:
    me = victim["headers"]
    vid = victim["vehicle"]["id"]
    attempts = [
        ("POST", api.url("veiculo-service", "/vehicles"), api.vehicle_body(1000)),
        ("PATCH", api.url("veiculo-service", f"/vehicles/{vid}"), {"color": "Azul"}),
        ("PUT", api.url("veiculo-service", f"/vehicles/{vid}"), {"color": "Azul"}),
        ("POST", api.url("veiculo-service", f"/vehicles/{vid}/pickup"), None),
        ("GET", api.url("cliente-service", "/customers"), None),
        ("PATCH", api.url("cliente-service", f"/customers/{victim['customer']['id']}"), {"credit_limit": 99999}),
    ]
    for method, url, body in attempts:
        response = api.client.request(method, url, json=body, headers=me)
        assert response.status_code == 403, (method, url, response.status_code)
    staff_view = api.client.get(api.url("veiculo-service", f"/vehicles/{vid}"), headers=api.staff()).json()
    assert (staff_view["color"], staff_view["picked_up_at"]) == ("Prata", None)
    assert api.customer(me)["credit_limit"] == 1000


def test_platform_routes_refuse_anyone_but_the_platform(api: Api, stack: LocalStack) -> None:
    """Locally the platform is whoever holds this run's secret: another process on the
    machine, even with staff's token, cannot deliver messages, read funds or run the
    deadline sweep; neither can a page in the developer's browser (another Host, or a
    push that is not JSON)."""
    customer, _ = api.new_customer(balance=10)
    routes = [
        ("orquestrador", "POST", "/internal/deadlines/sweep"),
        ("orquestrador", "POST", "/internal/purchases/archive"),
        ("cliente-service", "GET", f"/internal/customers/{customer['id']}/funds"),
        *((s.name, "POST", "/pubsub/push") for s in SERVICES),
        *((s.name, "POST", "/pubsub/dead-letters") for s in SERVICES),
        *((s.name, "GET", f"/internal/transactions/{uuid.uuid4()}") for s in SERVICES if s.name != "orquestrador"),
    ]
    wrong = {"X-Platform-Secret": "x" * 43}
    for service, method, path in routes:
        url = api.url(service, path)
        assert api.client.request(method, url, headers=api.staff(), json={}).status_code == 401, (service, path)
        assert api.client.request(method, url, headers=wrong, json={}).status_code == 403, (service, path)
    forged = _forged_release(customer["id"])
    pushes = [(s.name, path) for s in SERVICES for path in ("/pubsub/push", "/pubsub/dead-letters")]
    for consumer, path in pushes:  # a signed-looking push from a page: refused before its signature is read
        url = api.url(consumer, path)
        as_text = api.client.post(url, content=forged, headers={"content-type": "text/plain"})
        assert as_text.status_code == 415
        rebound = api.client.post(
            url, content=forged, headers={"content-type": "application/json", "host": "evil.example"}
        )
        assert rebound.status_code == 403
    platform = {"X-Platform-Secret": stack.platform_secret}
    sweep = api.client.post(api.url("orquestrador", "/internal/deadlines/sweep"), headers=platform)
    assert sweep.status_code == 200


def _forged_release(customer_id: str) -> bytes:
    """What the audit forged: a release of a buyer's hold, pushed as if by Pub/Sub."""
    envelope = Envelope.wrap(
        ReleaseCredit(transaction_id=str(uuid.uuid4()), customer_id=customer_id, payment_type=PaymentType.CASH)
    )
    message = {"data": base64.b64encode(envelope.model_dump_json().encode()).decode(), "messageId": "1"}
    return json.dumps({"message": {**message, "attributes": envelope.attributes()}, "subscription": "s"}).encode()
