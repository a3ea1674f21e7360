"""Nothing a client sends gives a 500: ids in every form Python's UUID parser takes but
ours are not, cursors crafted by hand, a webhook signature in another alphabet, a null
where a value is required."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import pytest

from mercado_shared.registry import SERVICES
from tests.e2e.conftest import Api

OTHER_FORMS: dict[str, Callable[[str], str]] = {
    "urn": lambda u: f"urn:uuid:{u}",
    "braces": lambda u: f"{{{u}}}",
    "upper": str.upper,
    "no dashes": lambda u: u.replace("-", ""),
}


@cache
def operations(url: str) -> list[tuple[str, str]]:
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops if "{" in path]


def cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("form", OTHER_FORMS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_id_path_answers_an_id_in_another_form_with_a_4xx(api: Api, service: Any, form: str) -> None:
    ident = OTHER_FORMS[form](str(uuid.uuid4()))
    for method, path in operations(api.url(service.name, "")):
        concrete = path.split("{")[0] + ident + path.split("}", 1)[1]
        for headers in (api.staff(), api.new_customer(balance=0)[1]):
            answer = api.client.request(method, api.url(service.name, concrete), headers=headers, json={})
            assert 400 <= answer.status_code < 500, (method, concrete, answer.status_code, answer.text[:300])


CRAFTED = [
    cursor("2026-01-01T00:00:00+00:00", "urn:uuid:" + str(uuid.uuid4())),
    cursor("2026-01-01T00:00:00+00:00", "not an id"),
    cursor("10000-01-01T00:00:00+00:00", str(uuid.uuid4())),
    cursor("45900.00", "{" + str(uuid.uuid4()) + "}"),
    cursor("NaN", str(uuid.uuid4())),
    cursor("1e999999", str(uuid.uuid4())),
    cursor(1, 2),
    "%%%",
]


@pytest.mark.parametrize(
    ("service", "path"),
    [("cliente-service", "/customers"), ("orquestrador", "/purchases"), ("veiculo-service", "/vehicles")],
)
def test_a_crafted_cursor_is_a_422_not_a_500(api: Api, service: str, path: str) -> None:
    for crafted in CRAFTED:
        answer = api.client.get(api.url(service, path), params={"cursor": crafted}, headers=api.staff())
        assert answer.status_code == 422, (crafted, answer.status_code, answer.text[:300])
        assert answer.json()["detail"]["code"] == "INVALID_CURSOR"


def test_a_webhook_signature_in_another_alphabet_is_refused_as_such(api: Api) -> None:
    for signature in ("t=1700000000,v1=é", "t=١٧٠٠٠٠٠٠٠٠,v1=00", "t=1,v1=" + "ａ" * 64):
        answer = api.client.post(
            api.url("pagamento-service", "/webhooks/psp"),
            content=b'{"payment_code": "MVX", "payment_method": "pix", "amount": 1.00}',
            headers=[(b"X-PSP-Signature", signature.encode()), (b"content-type", b"application/json")],
        )
        assert 400 <= answer.status_code < 500, (signature, answer.status_code, answer.text[:300])


def test_a_null_for_a_required_vehicle_field_is_a_422(api: Api) -> None:
    vehicle = api.new_vehicle(45_900)
    for field in ("price", "brand", "year", "license_plate"):
        answer = api.client.patch(
            api.url("veiculo-service", f"/vehicles/{vehicle['id']}"), json={field: None}, headers=api.staff()
        )
        assert answer.status_code == 422, (field, answer.status_code, answer.text[:300])
    _, customer = api.new_customer(balance=0)
    me = api.customer(customer)
    answer = api.client.patch(
        api.url("cliente-service", f"/customers/{me['id']}"), json={"name": None}, headers=customer
    )
    assert answer.status_code == 422, answer.text[:300]
