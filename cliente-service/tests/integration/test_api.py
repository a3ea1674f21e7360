"""cliente-service's public API, rule by rule, over real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_shared.contracts import Envelope, PaymentType, ReserveCredit
from mercado_shared.runtime import app_runtime
from tests.conftest import Client


def code_of(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ registration
def test_self_registration_masks_the_cpf_and_starts_with_no_money(client: Client) -> None:
    customer, _ = client.register()
    assert customer["document"].startswith("***.") and customer["document"].endswith("-**")
    assert (customer["account_balance"], customer["credit_limit"], customer["available_credit"]) == (0, 0, 0)
    assert customer["status"] == "ACTIVE" and "password" not in customer and "password_hash" not in customer


def test_staff_registers_with_balance_and_credit(client: Client) -> None:
    customer, _ = client.register(client.staff(), initial_balance=1234.56, credit_limit=5000)
    assert (customer["account_balance"], customer["credit_limit"], customer["available_credit"]) == (
        1234.56,
        5000,
        5000,
    )


@pytest.mark.parametrize("field", ["initial_balance", "credit_limit"])
def test_only_staff_may_set_money_at_registration(client: Client, field: str) -> None:
    anonymous = client.http.post("/customers", json=client.body(**{field: 100}))
    assert code_of(anonymous) == (403, "STAFF_ONLY_FIELD")
    _, customer = client.register()
    as_customer = client.http.post("/customers", json=client.body(**{field: 100}), headers=customer)
    assert code_of(as_customer) == (403, "STAFF_ONLY_FIELD")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("document", "529.982.247-24"),
        ("document", "111.111.111-11"),
        ("email", "not-an-email"),
        ("phone", "12345"),
        ("phone", "call me"),
        ("name", ""),
        ("password", "pw-123"),
        ("initial_balance", 10.001),
        ("initial_balance", -1),
    ],
)
def test_invalid_fields_are_422(client: Client, field: str, value: object) -> None:
    response = client.http.post("/customers", json=client.body(**{field: value}), headers=client.staff())
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    if isinstance(value, str) and value:  # a refused value is never echoed (LGPD; a password in a proxy's log)
        assert value not in response.text


def test_a_refused_password_or_cpf_is_not_echoed_when_changed_either(client: Client) -> None:
    customer, me = client.register()
    path = f"/customers/{customer['id']}"
    for change in ({"password": "tiny-pw", "current_password": "a-long-passphrase"}, {"document": "123.456.789-00"}):
        response = client.http.patch(path, json=change, headers=me)
        assert response.status_code == 422, response.text
        assert [next(iter(change))] == [error["loc"][-1] for error in response.json()["detail"]][:1]
        assert all(value not in response.text for value in change.values())


def test_a_duplicate_email_or_cpf_is_409(client: Client, cpf: str) -> None:
    client.register(email="Ana.Souza@Example.com", document=cpf)
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    same_email = client.http.post("/customers", json=client.body(email="ana.souza@example.com"))
    assert code_of(same_email) == (409, "EMAIL_ALREADY_REGISTERED")
    same_cpf = client.http.post("/customers", json=client.body(document=formatted))
    assert code_of(same_cpf) == (409, "DOCUMENT_ALREADY_REGISTERED")


# ------------------------------------------------------------------ reading
def test_a_customer_reads_itself_and_staff_reads_anyone(client: Client) -> None:
    customer, headers = client.register()
    assert client.http.get("/customers/me", headers=headers).json()["id"] == customer["id"]
    assert client.http.get(f"/customers/{customer['id']}", headers=headers).status_code == 200
    assert client.http.get(f"/customers/{customer['id']}", headers=client.staff()).status_code == 200


def test_another_customer_is_not_found_and_no_token_is_401(client: Client) -> None:
    customer, _ = client.register()
    _, other = client.register()
    assert code_of(client.http.get(f"/customers/{customer['id']}", headers=other)) == (404, "CUSTOMER_NOT_FOUND")
    assert code_of(client.http.get(f"/customers/{customer['id']}")) == (401, "NOT_AUTHENTICATED")
    assert client.http.get("/customers/not-a-uuid", headers=client.staff()).status_code == 404


def test_staff_lists_customers_page_by_page(client: Client) -> None:
    created = [client.register()[0]["id"] for _ in range(5)]
    staff = client.staff()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.http.get("/customers", params=params, headers=staff).json()
        assert len(page["customers"]) <= 2 and page["total"] == 5
        seen += [c["id"] for c in page["customers"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


def test_a_staff_list_masks_contact_details_one_opened_record_shows_them(client: Client) -> None:
    customer, _ = client.register(email="maria.prado@example.com", phone="+55 21 99876-5432")
    staff = client.staff()
    listed = next(
        c for c in client.http.get("/customers", headers=staff).json()["customers"] if c["id"] == customer["id"]
    )
    assert (listed["email"], listed["phone"], listed["document"]) == (
        "m***@example.com",
        "+55*******5432",
        customer["document"],  # already masked everywhere
    )
    assert listed["name"] == customer["name"] and listed["account_balance"] == customer["account_balance"]
    opened = client.http.get(f"/customers/{customer['id']}", headers=staff).json()
    assert (opened["email"], opened["phone"]) == ("maria.prado@example.com", "+5521998765432")


def test_listing_customers_is_for_staff_and_cursors_are_checked(client: Client) -> None:
    _, customer = client.register()
    assert client.http.get("/customers", headers=customer).status_code == 403
    bad = client.http.get("/customers", params={"cursor": "garbage"}, headers=client.staff())
    assert code_of(bad) == (422, "INVALID_CURSOR")
    assert client.http.get("/customers", params={"limit": 101}, headers=client.staff()).status_code == 422


# ------------------------------------------------------------------ changing
def test_a_customer_changes_its_contact_data_and_password(client: Client) -> None:
    customer, headers = client.register()
    changed = client.http.patch(
        f"/customers/{customer['id']}",
        json={
            "name": "Maria S.",
            "email": "New.Address@Example.com",
            "phone": "21 99876-5432",
            "password": "another-passphrase",
            "current_password": "a-long-passphrase",
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["email"], changed.json()["phone"]) == (
        "Maria S.",
        "new.address@example.com",
        "21998765432",
    )
    client.login("new.address@example.com", "another-passphrase")
    old = client.http.post("/auth/token", data={"username": customer["email"], "password": "a-long-passphrase"})
    assert old.status_code == 401


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"credit_limit": 1000}, (403, "STAFF_ONLY_FIELD")),
        ({"account_balance": 1000}, 422),
        ({"used_credit": 0}, 422),
        ({"status": "ACTIVE"}, 422),
        ({"role": "staff"}, 422),
    ],
)
def test_a_customer_cannot_write_money_status_or_role(
    client: Client, body: dict[str, object], expected: object
) -> None:
    customer, headers = client.register()
    response = client.http.patch(f"/customers/{customer['id']}", json=body, headers=headers)
    assert (code_of(response) if isinstance(expected, tuple) else response.status_code) == expected
    assert client.http.get("/customers/me", headers=headers).json()["credit_limit"] == 0


def test_staff_sets_the_credit_limit_but_never_below_what_is_used(client: Client) -> None:
    customer, _ = client.register(client.staff(), credit_limit=1000)
    bus = app_runtime(client.http.app).bus
    tx = str(uuid.uuid4())
    bus.handle(
        Envelope.wrap(
            ReserveCredit(
                transaction_id=tx, customer_id=customer["id"], amount=Decimal("600.00"), payment_type=PaymentType.CREDIT
            )
        )
    )
    staff = client.staff()
    lowered = client.http.patch(f"/customers/{customer['id']}", json={"credit_limit": 599.99}, headers=staff)
    assert code_of(lowered) == (409, "CREDIT_LIMIT_BELOW_USED")
    raised = client.http.patch(f"/customers/{customer['id']}", json={"credit_limit": 2000}, headers=staff)
    assert (raised.json()["credit_limit"], raised.json()["used_credit"], raised.json()["available_credit"]) == (
        2000,
        600,
        1400,
    )


def test_a_changed_email_must_stay_unique(client: Client) -> None:
    first, _ = client.register()
    second, headers = client.register()
    body = {"email": first["email"], "current_password": "a-long-passphrase"}
    response = client.http.patch(f"/customers/{second['id']}", json=body, headers=headers)
    assert code_of(response) == (409, "EMAIL_ALREADY_REGISTERED")


# ------------------------------------------------------------------ LGPD: access and erasure
def test_the_export_is_for_the_customer_only_and_whole_or_not_at_all(client: Client, cpf: str) -> None:
    """The other services hold part of it and none runs here: the export is refused rather
    than given in part. The whole export is tested end to end (tests/e2e/test_erasure.py)."""
    customer, headers = client.register(document=cpf)
    export = client.http.get(f"/customers/{customer['id']}/export", headers=headers)
    assert code_of(export) == (503, "SERVICE_UNAVAILABLE") and export.headers["Retry-After"]
    assert cpf not in export.text
    assert code_of(client.http.get(f"/customers/{customer['id']}/export", headers=client.staff())) == (403, "FORBIDDEN")
    _, other = client.register()
    assert client.http.get(f"/customers/{customer['id']}/export", headers=other).status_code == 404


def test_failed_logins_are_limited_per_account_with_retry_after(client: Client) -> None:
    customer, _ = client.register()
    wrong = {"username": customer["email"], "password": "not-the-password"}
    for _ in range(5):
        assert client.http.post("/auth/token", data=wrong).status_code == 401
    limited = client.http.post("/auth/token", data={**wrong, "password": "a-long-passphrase"})
    assert code_of(limited) == (429, "TOO_MANY_ATTEMPTS")  # even the right password waits
    assert int(limited.headers["Retry-After"]) >= 1
    _, other = client.register()  # another account is not affected
    assert client.http.get("/customers/me", headers=other).status_code == 200


@pytest.mark.parametrize(
    "corruption",
    [
        "UPDATE customers SET account_balance = -0.01 WHERE id = :id",
        "UPDATE customers SET used_credit = credit_limit + 0.01 WHERE id = :id",
        "UPDATE customers SET used_credit = -0.01 WHERE id = :id",
    ],
)
def test_the_database_itself_refuses_negative_money(client: Client, settings: ClienteSettings, corruption: str) -> None:
    """Whatever the code does: the CHECK constraints hold the line."""
    customer, _ = client.register(client.staff(), initial_balance=10, credit_limit=10)
    engine = sa.create_engine(settings.database_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(corruption), {"id": customer["id"]})
    finally:
        engine.dispose()


# ------------------------------------------------------------------ internal
def test_the_orchestrators_funds_read_is_for_the_platform_and_carries_nothing_personal(
    client: Client, settings: ClienteSettings
) -> None:
    customer, headers = client.register(client.staff(), initial_balance=700, credit_limit=300)
    path = f"/internal/customers/{customer['id']}/funds"
    assert settings.platform_secret is not None
    platform = {"X-Platform-Secret": settings.platform_secret.get_secret_value()}
    with TestClient(bootstrap(settings), base_url="http://127.0.0.1") as local:
        assert local.get(path, headers=headers).status_code == 401  # a user's token is no pass
        assert local.get(path, headers=platform).json() == {
            "account_balance": 700,
            "available_credit": 300,
            "status": "ACTIVE",
        }
        missing = local.get(f"/internal/customers/{uuid.uuid4()}/funds", headers=platform)
        assert code_of(missing) == (404, "CUSTOMER_NOT_FOUND")
    assert "/internal/customers/{customer_id}/funds" not in client.http.get("/openapi.json").json()["paths"]
