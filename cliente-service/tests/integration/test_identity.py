"""Identity changes: the customer proves it knows its password to change e-mail or
password, staff never set one, and no customer can take staff's e-mail."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.testing.helpers import TopicTap, eventually
from mercado_shared.contracts import SessionsRevoked
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
    me = client.login(right.json()["email"], change.get("password", RIGHT))  # a new password ends sessions
    assert client.http.patch(path, json={"name": "Maria S.", "phone": "21 99876-5432"}, headers=me).status_code == 200


# ------------------------------------------------------------------ sessions ended
def test_a_new_password_ends_every_session_and_the_next_sign_in_starts_one(client: Client) -> None:
    customer, first = client.register()
    second = client.login(customer["email"], RIGHT)  # another device
    path = f"/customers/{customer['id']}"
    changed = client.http.patch(path, json={"password": "a-brand-new-one", "current_password": RIGHT}, headers=first)
    assert changed.status_code == 200
    for old in (first, second):
        ended = client.http.get("/customers/me", headers=old)
        assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]["message"]
    fresh = client.login(customer["email"], "a-brand-new-one")
    assert client.http.get("/customers/me", headers=fresh).status_code == 200


def test_staff_acting_on_who_a_customer_is_ends_its_sessions_a_credit_limit_does_not(client: Client) -> None:
    customer, me = client.register()
    staff = client.staff()
    path = f"/customers/{customer['id']}"
    assert client.http.patch(path, json={"credit_limit": 500}, headers=staff).status_code == 200
    assert client.http.get("/customers/me", headers=me).status_code == 200
    assert client.http.patch(path, json={"name": "Maria (corrigido)"}, headers=me).status_code == 200
    assert client.http.get("/customers/me", headers=me).status_code == 200  # its own edit ends nothing
    assert client.http.patch(path, json={"phone": "21 99876-5432"}, headers=staff).status_code == 200
    assert client.http.get("/customers/me", headers=me).status_code == 401
    assert client.http.get("/customers", headers=staff).status_code == 200  # staff's own session goes on


def test_the_session_version_travels_in_the_token_and_is_told_to_the_other_services(
    client: Client, project_id: str
) -> None:
    tap = TopicTap(project_id, SessionsRevoked.TYPE)
    try:
        customer, me = client.register()
        before = jwt.decode(me["Authorization"].split()[1], options={"verify_signature": False})
        change = {"password": "a-brand-new-one", "current_password": RIGHT}
        assert client.http.patch(f"/customers/{customer['id']}", json=change, headers=me).status_code == 200
        fresh = client.login(customer["email"], "a-brand-new-one")
        after = jwt.decode(fresh["Authorization"].split()[1], options={"verify_signature": False})
        assert after["ver"] == before["ver"] + 1
        [event] = [e.open() for e in eventually(lambda: tap.expect(1))]
        assert isinstance(event, SessionsRevoked)
        assert (event.subject, event.version) == (customer["id"], after["ver"])
    finally:
        tap.close()


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


def test_a_taken_email_is_a_conflict_whoever_asks(client: Client) -> None:
    first, _ = client.register()
    second, me = client.register()
    path = f"/customers/{second['id']}"
    by_staff = client.http.patch(path, json={"email": first["email"], "name": "Outro Nome"}, headers=client.staff())
    assert code_of(by_staff) == (409, "EMAIL_ALREADY_REGISTERED")
    assert client.http.get("/customers/me", headers=me).status_code == 200  # nothing changed, nothing ended


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
