"""What a buyer searches by: mileage, fuel, transmission, version, doors, features and a
description. Known values only, bounded text without control characters, editable by
staff under the rules of every other field, and empty for vehicles listed before them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import VeiculoSettings
from app.service_layer import services
from mercado_devtools.testing.fixtures import migrate
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.clock import utcnow
from mercado_shared.errors import Unprocessable
from mercado_shared.runtime import app_runtime
from tests.conftest import SERVICE_DIR, Client

DETAILS: dict[str, Any] = {
    "mileage_km": 62000,
    "fuel": "flex",
    "transmission": "automatico",
    "version": "1.0 MPI Trendline",
    "doors": 4,
    "features": ["vidros_eletricos", "ar_condicionado", "vidros_eletricos"],
    "description": "Único dono.\nRevisões na concessionária.",
}
NONE: dict[str, Any] = {
    "mileage_km": None,
    "fuel": None,
    "transmission": None,
    "version": None,
    "doors": None,
    "features": [],
    "description": None,
}


def details(vehicle: dict[str, Any]) -> dict[str, Any]:
    return {key: vehicle[key] for key in NONE}


def test_a_vehicle_carries_its_details_and_a_buyer_sees_them(client: Client) -> None:
    created = client.create(**DETAILS)
    expected = {**DETAILS, "features": ["ar_condicionado", "vidros_eletricos"]}  # each once, in order
    assert details(created) == expected
    public = client.http.get(f"/vehicles/{created['id']}").json()  # anonymous
    assert details(public) == expected
    listed = client.http.get("/vehicles").json()["vehicles"]
    assert [details(v) for v in listed if v["id"] == created["id"]] == [expected]


def test_a_vehicle_registered_without_details_has_none(client: Client) -> None:
    assert details(client.create()) == NONE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fuel", "alcool"),
        ("fuel", "Flex"),
        ("transmission", "cambio"),
        ("mileage_km", -1),
        ("mileage_km", 2_000_001),
        ("mileage_km", 1.5),
        ("doors", 6),
        ("doors", 1),
        ("features", ["turbo"]),
        ("features", "ar_condicionado"),
        ("version", ""),
        ("version", "x" * 61),
        ("version", "1.0\x07TSI"),
        ("version", "1.0\nTSI"),
        ("description", "a" * 4001),
        ("description", "tab\there"),
        ("description", "bell\x07"),
        ("description", "   "),
    ],
)
def test_unknown_values_and_unbounded_or_unseen_text_are_422(client: Client, field: str, value: object) -> None:
    response = client.http.post("/vehicles", json=client.body(**{field: value}), headers=client.tokens.staff())
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"])
    vehicle = client.create()
    changed = client.http.patch(f"/vehicles/{vehicle['id']}", json={field: value}, headers=client.tokens.staff())
    assert changed.status_code == 422, changed.text


def test_staff_edit_the_details_and_clear_what_a_vehicle_lacks(client: Client) -> None:
    vehicle = client.create(**DETAILS)
    url = f"/vehicles/{vehicle['id']}"
    changed = client.http.patch(
        url, json={"mileage_km": 63000, "fuel": None, "features": ["teto_solar"]}, headers=client.tokens.staff()
    )
    assert changed.status_code == 200, changed.text
    assert details(changed.json()) == {**DETAILS, "mileage_km": 63000, "fuel": None, "features": ["teto_solar"]}
    emptied = client.http.patch(url, json={"features": []}, headers=client.tokens.staff())
    assert emptied.json()["features"] == []
    refused = client.http.patch(url, json={"features": None}, headers=client.tokens.staff())
    assert refused.status_code == 422  # a list is emptied, not nulled
    assert (
        client.http.patch(url, json={"doors": 2}, headers=client.tokens.headers(str(uuid.uuid4()))).status_code == 403
    )
    client.sell(vehicle)
    sold = client.http.patch(url, json={"mileage_km": 1}, headers=client.tokens.staff())
    assert (sold.status_code, sold.json()["detail"]["code"]) == (409, "VEHICLE_SOLD")


def test_vehicles_listed_before_the_details_read_without_them(
    new_database: Callable[[str], str], emulator_host: str, project_id: str
) -> None:
    url = new_database("veiculo_before_details")
    assert migrate(SERVICE_DIR, url, "upgrade", "0007").returncode == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # as the revision before writes one
        vehicle_id = conn.scalar(
            sa.text(
                "INSERT INTO vehicles (id, brand, model, year, color, price, license_plate, plate_key,"
                " chassi_number, renavam) VALUES (gen_random_uuid(), 'Fiat', 'Uno', 2012, 'Branco', 18000,"
                " 'ABC1234', 'ABC1234', '9BD15827T00000001', '00000000191') RETURNING id"
            )
        )
    engine.dispose()
    assert migrate(SERVICE_DIR, url).returncode == 0
    tokens = TestTokens()
    settings = VeiculoSettings(environment="test", database_url=url, pubsub_project_id=project_id)
    with TestClient(bootstrap(settings, key_source=tokens.key_source())) as http:
        read = http.get(f"/vehicles/{vehicle_id}")
        assert read.status_code == 200, read.text
        assert details(read.json()) == NONE
        changed = http.patch(f"/vehicles/{vehicle_id}", json={"fuel": "flex"}, headers=tokens.staff())
        assert (changed.status_code, changed.json()["fuel"]) == (200, "flex")


def test_a_value_the_database_refuses_is_the_clients_error_never_a_conflict(client: Client) -> None:
    """Should a value ever pass the schemas that the database's checks refuse, it is a 422
    naming the rule, not the 409 of a duplicate nor a 500."""
    body = client.body(doors=7)  # the API's schema refuses it; the service is asked directly
    body["price"] = Decimal(str(body["price"]))
    with pytest.raises(Unprocessable) as refused:
        services.register_vehicle(app_runtime(client.http.app).uow_factory(), services.NewVehicle(**body), utcnow())
    assert refused.value.code == "INVALID_VEHICLE" and "ck_vehicles_doors" in refused.value.message
