"""Identity changes: the customer proves it knows its password to change e-mail or
password, staff never set one, and no customer can take staff's e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from tests.conftest import STAFF, Client

RIGHT = "a-long-passphrase"


def code_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


@pytest.mark.parametrize("change", [{"email": "elsewhere@example.com"}, {"password": "a-brand-new-passphrase"}])
def test_email_and_password_change_only_with_the_current_password(client: Client, change: dict[str, str]) -> None:
    customer, me = client.register()
    path = f"/customers/{customer['id']}"
    assert code_of(client.http.patch(path, json=change, headers=me)) == (422, "CURRENT_PASSWORD_REQUIRED")
    wrong = client.http.patch(path, json={**change, "current_password": "not-it-at-all"}, headers=me)
    assert code_of(wrong) == (403, "WRONG_PASSWORD")
    assert "not-it-at-all" not in wrong.text
    unchanged = client.http.get("/customers/me", headers=me).json()
    assert unchanged["email"] == customer["email"]
    client.login(customer["email"], RIGHT)  # the password did not change either
    right = client.http.patch(path, json={**change, "current_password": RIGHT}, headers=me)
    assert right.status_code == 200, right.text
    assert client.http.patch(path, json={"name": "Maria S.", "phone": "21 99876-5432"}, headers=me).status_code == 200


def test_wrong_current_passwords_are_failed_sign_ins(client: Client) -> None:
    customer, me = client.register()
    path = f"/customers/{customer['id']}"
    for _ in range(3):
        wrong = client.http.patch(path, json={"password": "x" * 12, "current_password": "guess-guess"}, headers=me)
        assert code_of(wrong) == (403, "WRONG_PASSWORD")
    for _ in range(2):  # the same bucket as POST /auth/token: five failures per account and address
        answer = client.http.post("/auth/token", data={"username": customer["email"], "password": "guess-guess"})
        assert answer.status_code == 401
    blocked = client.http.patch(path, json={"password": "x" * 12, "current_password": RIGHT}, headers=me)
    assert code_of(blocked) == (429, "TOO_MANY_ATTEMPTS")


def test_one_account_is_one_bucket_however_its_email_is_written(client: Client) -> None:
    customer, _ = client.register()
    email = customer["email"]
    for spelling in (email, email.upper(), email.title(), f" {email}", email.capitalize()):
        answer = client.http.post("/auth/token", data={"username": spelling, "password": "guess-guess"})
        assert answer.status_code == 401, spelling
    refused = client.http.post("/auth/token", data={"username": email.swapcase(), "password": RIGHT})
    assert code_of(refused) == (429, "TOO_MANY_ATTEMPTS")


def test_staff_never_set_a_password_but_may_correct_contact_data(client: Client) -> None:
    customer, _ = client.register()
    staff = client.staff()
    path = f"/customers/{customer['id']}"
    refused = client.http.patch(path, json={"password": "chosen-by-staff"}, headers=staff)
    assert code_of(refused) == (403, "STAFF_CANNOT_SET_PASSWORD")
    client.login(customer["email"], RIGHT)
    corrected = client.http.patch(path, json={"email": "corrigido@example.com"}, headers=staff)
    assert corrected.status_code == 200 and corrected.json()["email"] == "corrigido@example.com"


def test_no_customer_takes_staffs_email(settings: ClienteSettings) -> None:
    staff_email = "equipe@mercadoveiculo.com.br"  # one a customer could type (test.local is not)
    with TestClient(bootstrap(settings.model_copy(update={"staff_email": staff_email}))) as http:
        client = Client(http)
        for spelling in (staff_email, staff_email.upper()):
            answer = http.post("/customers", json=client.body(email=spelling))
            assert code_of(answer) == (409, "EMAIL_ALREADY_REGISTERED"), spelling
        customer, me = client.register()
        moved = http.patch(
            f"/customers/{customer['id']}", json={"email": staff_email, "current_password": RIGHT}, headers=me
        )
        assert code_of(moved) == (409, "EMAIL_ALREADY_REGISTERED")
        staff = client.login(staff_email, STAFF[1])
        assert http.get("/customers", headers=staff).status_code == 200
