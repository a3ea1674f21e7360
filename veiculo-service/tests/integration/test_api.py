"""veiculo-service's public API, rule by rule, over real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import VeiculoSettings
from mercado_devtools.testing.helpers import TestClock
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.auth import Role
from tests.conftest import SERVICE_DIR, Client


def code_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


# ------------------------------------------------------------------ registering
def test_only_staff_register_vehicles(client: Client) -> None:
    assert client.http.post("/vehicles", json=client.body()).status_code == 401
    assert code_of(client.http.post("/vehicles", json=client.body(), headers=client.tokens.headers())) == (
        403,
        "FORBIDDEN",
    )
    vehicle = client.create(license_plate="abc-1234", chassi_number="9bwzzz377vt004251")
    assert (vehicle["license_plate"], vehicle["chassi_number"]) == ("ABC1234", "9BWZZZ377VT004251")
    assert (vehicle["is_reserved"], vehicle["is_sold"]) == (False, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("license_plate", "AB12345"),
        ("chassi_number", "9BWZZZ377VT00425"),
        ("chassi_number", "9BWZZZ377VT0O4251"),
        ("renavam", "12345678901"),
        ("renavam", "12345678"),
        ("price", 0),
        ("price", 100.005),
        ("year", 1899),
        ("brand", ""),
    ],
)
def test_invalid_identifiers_and_values_are_422(client: Client, field: str, value: object) -> None:
    response = client.http.post("/vehicles", json=client.body(**{field: value}), headers=client.tokens.staff())
    assert response.status_code == 422 and field in str(response.json()["detail"])


def test_the_renavam_is_left_padded(client: Client) -> None:
    from app.domain.identifiers import renavam_check_digit

    short = "123456789"  # 9 digits: 00123456789 with its check digit last
    first_ten = ("00" + short)[:10]
    renavam = (first_ten + str(renavam_check_digit(first_ten))).lstrip("0")
    assert client.create(renavam=renavam)  # accepted as given, stored padded


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ({"license_plate": "QRS1234"}, {"license_plate": "QRS-1234"}, "PLATE_ALREADY_REGISTERED"),
        ({"license_plate": "QRS1234"}, {"license_plate": "QRS1C34"}, "PLATE_ALREADY_REGISTERED"),  # its Mercosul form
        ({"chassi_number": "9BWZZZ377VT004251"}, {"chassi_number": "9bwzzz377vt004251"}, "CHASSIS_ALREADY_REGISTERED"),
    ],
)
def test_duplicates_are_409(client: Client, first: dict[str, str], second: dict[str, str], code: str) -> None:
    client.create(**first)
    response = client.http.post("/vehicles", json=client.body(**second), headers=client.tokens.staff())
    assert code_of(response) == (409, code)


def test_a_duplicate_renavam_is_409(client: Client) -> None:
    vehicle = client.body()
    client.create(renavam=vehicle["renavam"])
    response = client.http.post(
        "/vehicles", json=client.body(renavam=vehicle["renavam"]), headers=client.tokens.staff()
    )
    assert code_of(response) == (409, "RENAVAM_ALREADY_REGISTERED")


# ------------------------------------------------------------------ reading
def test_staff_only_fields_are_hidden_from_everyone_else(client: Client) -> None:
    vehicle = client.create()
    staff_only = {"chassi_number", "renavam", "sold_price", "sold_at", "buyer_id", "picked_up_at"}
    for headers in ({}, client.tokens.headers()):
        public = client.http.get(f"/vehicles/{vehicle['id']}", headers=headers).json()
        assert not staff_only & set(public)
        listed = client.http.get("/vehicles", headers=headers).json()["vehicles"]
        assert listed and not any(staff_only & set(v) for v in listed)
    assert staff_only <= set(client.http.get(f"/vehicles/{vehicle['id']}", headers=client.tokens.staff()).json())
    assert code_of(client.http.get(f"/vehicles/{uuid.uuid4()}")) == (404, "VEHICLE_NOT_FOUND")
    assert code_of(client.http.get("/vehicles/not-an-id")) == (404, "VEHICLE_NOT_FOUND")


def test_anyone_may_search_but_a_token_sent_must_be_valid(client: Client) -> None:
    client.create()
    for path in ("/vehicles", "/vehicles?q=gol&facets=true"):
        assert client.http.get(path).status_code == 200
        assert client.http.get(path, headers=client.tokens.headers()).status_code == 200
        forged = client.http.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert code_of(forged) == (401, "NOT_AUTHENTICATED")


def test_a_listing_shows_each_vehicle_as_its_own_page_does(client: Client) -> None:
    """A search reads its rows straight from the table (repository.LISTED), its own page
    the domain object: both must say the same, to everyone and to staff."""
    plain = client.create()
    details = {"mileage_km": 42000, "fuel": "flex", "transmission": "manual", "version": "1.0 MPI", "doors": 4}
    detailed = client.create(**details, features=["freios_abs", "airbag"])
    client.reserve(detailed)
    client.sell(sold := client.create(description="Único dono"))
    for headers in ({}, client.tokens.headers(), client.tokens.staff()):
        listed = {v["id"]: v for v in client.http.get("/vehicles", headers=headers).json()["vehicles"]}
        for vehicle in (plain, detailed, sold):
            shown = client.http.get(f"/vehicles/{vehicle['id']}", headers=headers).json()
            assert listed[vehicle["id"]] == {**shown, "photos": None}
    assert {listed[v["id"]]["is_reserved"] for v in (plain, detailed)} == {False, True}
    assert listed[sold["id"]]["is_sold"] and listed[sold["id"]]["sold_price"] == sold["price"]


def pages(client: Client, status_filter: str | None, limit: int, between_pages: Any = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if status_filter:
            params["status_filter"] = status_filter
        if cursor:
            params["cursor"] = cursor
        page = client.http.get("/vehicles", params=params).json()
        seen += page["vehicles"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between_pages:
            between_pages(len(seen))


def test_listings_are_ordered_by_price_then_id_and_split_by_status(client: Client) -> None:
    prices = [30000, 10000, 20000, 10000, 50000, 20000, 20000]
    created = [client.create(price=p) for p in prices]
    sold, reserved = created[0], created[1]
    client.sell(sold)
    client.reserve(reserved)
    available = pages(client, "available", limit=2)
    keys = [(v["price"], v["id"]) for v in available]
    assert keys == sorted(keys)
    assert {v["id"] for v in available} == {v["id"] for v in created} - {sold["id"], reserved["id"]}
    assert [v["id"] for v in pages(client, "sold", limit=2)] == [sold["id"]]
    assert len(pages(client, None, limit=3)) == len(prices)
    first = client.http.get("/vehicles", params={"status_filter": "available", "limit": 2}).json()
    assert first["total"] == len(prices) - 2 and len(first["vehicles"]) == 2


def test_pages_stay_correct_while_vehicles_are_added_and_sold_between_them(client: Client) -> None:
    before = [client.create(price=1000 * (i + 1)) for i in range(8)]
    added: list[dict[str, Any]] = []

    def meanwhile(read_so_far: int) -> None:
        if read_so_far == 3:
            client.sell(before[0])  # already read: not affected (an offset would now skip one)
            client.sell(before[1])
            client.sell(before[6])  # not read yet: must not be shown
            added.append(client.create(price=500))  # before the cursor: not shown
            added.append(client.create(price=7500))  # after it: shown in its place

    listed = [v["id"] for v in pages(client, "available", limit=3, between_pages=meanwhile)]
    assert len(listed) == len(set(listed))  # nothing repeated
    expected = [v["id"] for v in before if v is not before[6]] + [added[1]["id"]]
    assert sorted(listed) == sorted(expected)  # nothing skipped


@pytest.mark.parametrize("params", [{"cursor": "garbage"}, {"limit": 0}, {"limit": 101}, {"status_filter": "lost"}])
def test_bad_listing_parameters_are_422(client: Client, params: dict[str, Any]) -> None:
    assert client.http.get("/vehicles", params=params).status_code == 422


# ------------------------------------------------------------------ editing and pickup
@pytest.mark.parametrize("method", ["patch", "put"])
def test_staff_edit_any_field(client: Client, method: str) -> None:
    vehicle = client.create()
    changes = {"color": "Preto", "price": 41000.5, "license_plate": "XYZ9A87", "year": 2020}
    edited = getattr(client.http, method)(f"/vehicles/{vehicle['id']}", json=changes, headers=client.tokens.staff())
    assert edited.status_code == 200, edited.text
    assert {k: edited.json()[k] for k in changes} == changes
    customer = getattr(client.http, method)(
        f"/vehicles/{vehicle['id']}", json={"color": "Azul"}, headers=client.tokens.headers()
    )
    assert customer.status_code == 403


def test_an_edit_cannot_take_another_vehicles_plate(client: Client) -> None:
    client.create(license_plate="JKL1234")
    other = client.create()
    response = client.http.patch(
        f"/vehicles/{other['id']}", json={"license_plate": "JKL1C34"}, headers=client.tokens.staff()
    )
    assert code_of(response) == (409, "PLATE_ALREADY_REGISTERED")


def test_a_reserved_vehicle_keeps_its_price_and_a_sold_one_everything(client: Client) -> None:
    vehicle = client.create(price=10000)
    client.reserve(vehicle)
    staff = client.tokens.staff()
    price = client.http.patch(f"/vehicles/{vehicle['id']}", json={"price": 9000}, headers=staff)
    assert code_of(price) == (409, "VEHICLE_RESERVED")
    assert (
        client.http.patch(
            f"/vehicles/{vehicle['id']}", json={"price": 10000, "color": "Preto"}, headers=staff
        ).status_code
        == 200
    )

    sold = client.create()
    client.sell(sold)
    assert code_of(client.http.patch(f"/vehicles/{sold['id']}", json={"color": "Azul"}, headers=staff)) == (
        409,
        "VEHICLE_SOLD",
    )


def test_pickup_only_of_a_sold_vehicle_and_only_once(client: Client) -> None:
    staff = client.tokens.staff()
    vehicle = client.create()
    assert code_of(client.http.post(f"/vehicles/{vehicle['id']}/pickup", headers=staff)) == (409, "VEHICLE_NOT_SOLD")
    client.sell(vehicle)
    assert (
        client.http.post(
            f"/vehicles/{vehicle['id']}/pickup", headers=client.tokens.headers(role=Role.CUSTOMER)
        ).status_code
        == 403
    )
    picked = client.http.post(f"/vehicles/{vehicle['id']}/pickup", headers=staff)
    assert picked.status_code == 200 and picked.json()["picked_up_at"] is not None
    again = client.http.post(f"/vehicles/{vehicle['id']}/pickup", headers=staff)
    assert code_of(again) == (409, "VEHICLE_ALREADY_PICKED_UP")


def test_identifiers_and_prices_in_another_scripts_digits_are_refused(client: Client) -> None:
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    full_width = str.maketrans(
        "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＲＳＴＵＶＷＸＹＺ"
    )
    body = client.body()
    for field in ("renavam", "license_plate", "chassi_number"):
        response = client.http.post(
            "/vehicles", json={**body, field: body[field].translate(arabic)}, headers=client.tokens.staff()
        )
        assert response.status_code == 422, (field, response.text)
    price = client.http.post("/vehicles", json={**body, "price": "٤٥٩٠٠"}, headers=client.tokens.staff())
    assert price.status_code == 422
    wide = {field: body[field].translate(full_width) for field in ("renavam", "license_plate", "chassi_number")}
    created = client.http.post("/vehicles", json={**body, **wide}, headers=client.tokens.staff())
    assert created.status_code == 201, created.text
    assert created.json()["license_plate"] == body["license_plate"]  # read as ASCII
    duplicate = client.http.post(
        "/vehicles", json={**client.body(), "renavam": body["renavam"]}, headers=client.tokens.staff()
    )
    assert duplicate.status_code == 409


def test_a_vehicle_is_of_a_year_up_to_the_next_one_on_the_services_clock(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str
) -> None:
    tokens = TestTokens()
    settings = VeiculoSettings(
        environment="test", database_url=migrated_database(SERVICE_DIR), pubsub_project_id=project_id
    )
    clock = TestClock(datetime(2040, 6, 1, tzinfo=UTC))  # the rule follows the injected clock, not the machine's
    with TestClient(bootstrap(settings, key_source=tokens.key_source(), clock=clock)) as http:
        client = Client(http, tokens)
        next_year = client.create(year=2041)
        too_new = http.post("/vehicles", json=client.body(year=2042), headers=tokens.staff())
        assert (too_new.status_code, too_new.json()["detail"]["code"]) == (422, "INVALID_YEAR")
        changed = http.patch(f"/vehicles/{next_year['id']}", json={"year": 2042}, headers=tokens.staff())
        assert (changed.status_code, changed.json()["detail"]["code"]) == (422, "INVALID_YEAR")
        clock.advance(days=366)  # a year on, 2042's models are on sale
        assert (
            http.patch(f"/vehicles/{next_year['id']}", json={"year": 2042}, headers=tokens.staff()).status_code == 200
        )
