"""Personal data at rest: encrypted per field, found by blind index, keys that rotate."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.adapters.crypto import LocalKek
from app.adapters.keys import kek_from_settings, reencrypt, rewrap, rotate_field_key, vault_for
from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_shared.testing.fixtures import migrate
from tests.conftest import SERVICE_DIR, Client

PERSONAL = ("name", "email", "phone", "document")


def stored(settings: ClienteSettings, customer_id: str) -> dict[str, str]:
    """The row as any SQL client (a dump, a read replica, a leaked backup) sees it."""
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT name, email, email_index, phone, document, document_index FROM customers WHERE id = :i"
                ),
                {"i": customer_id},
            ).one()
        return dict(row._mapping)
    finally:
        engine.dispose()


def test_personal_fields_are_stored_as_ciphertexts_bound_to_their_column(
    client: Client, settings: ClienteSettings
) -> None:
    body = client.body(name="Zuleika Prado", phone="+55 21 99876-5432")
    created = client.http.post("/customers", json=body)
    assert created.status_code == 201
    row = stored(settings, created.json()["id"])
    for column in PERSONAL:
        assert row[column].startswith("v1.") and body[column] not in row[column]
    assert len({row[c].split(".")[1] for c in PERSONAL}) == 1  # one data key, named in each
    assert body["email"] not in row["email_index"] and body["document"] not in row["document_index"]
    me = client.login(body["email"], body["password"])
    assert client.http.get("/customers/me", headers=me).json()["name"] == "Zuleika Prado"


def test_login_and_duplicates_go_through_the_blind_index(client: Client) -> None:
    body = client.body(email="Maria.Prado@Example.com")
    assert client.http.post("/customers", json=body).status_code == 201
    client.login("maria.prado@example.com ", body["password"])  # normalised before hashing
    again = client.http.post("/customers", json=client.body(email="MARIA.PRADO@example.com"))
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "EMAIL_ALREADY_REGISTERED")
    same_cpf = client.http.post("/customers", json=client.body(document=body["document"]))
    assert (same_cpf.status_code, same_cpf.json()["detail"]["code"]) == (409, "DOCUMENT_ALREADY_REGISTERED")


def test_an_email_change_moves_its_blind_index(client: Client) -> None:
    body = client.body()
    customer = client.http.post("/customers", json=body).json()
    me = client.login(body["email"], body["password"])
    change = {"email": "novo.endereco@example.com", "current_password": body["password"]}
    changed = client.http.patch(f"/customers/{customer['id']}", json=change, headers=me)
    assert changed.status_code == 200, changed.text
    client.login("novo.endereco@example.com", body["password"])
    old = client.http.post("/auth/token", data={"username": body["email"], "password": body["password"]})
    assert old.status_code == 401


def test_a_rotated_data_key_encrypts_from_then_on_and_reencrypt_moves_old_rows(
    client: Client, settings: ClienteSettings
) -> None:
    first = client.register()[0]
    kek = kek_from_settings(settings)
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            new_key = rotate_field_key(conn, kek)
        second = client.register()[0]  # this instance learns the new key when it next reloads…
        vault = vault_for(engine, kek)
        with engine.begin() as conn:
            moved = reencrypt(conn, vault)
        assert moved >= 1 and vault.current_key_id == new_key
        for customer in (first, second):
            assert {stored(settings, customer["id"])[c].split(".")[1] for c in PERSONAL} == {new_key}
        # …and an instance that started before the rotation reads rows under the new key.
        staff = client.staff()
        assert client.http.get(f"/customers/{first['id']}", headers=staff).json()["name"] == first["name"]
    finally:
        engine.dispose()


def test_the_key_encryption_key_rotates_and_a_wrong_one_stops_startup(
    client: Client, settings: ClienteSettings
) -> None:
    customer = client.register()[0]
    new_kek = base64.b64encode(os.urandom(32)).decode()
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            assert rewrap(conn, kek_from_settings(settings), LocalKek(base64.b64decode(new_kek))) == 2
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match="data keys are wrapped by"), TestClient(bootstrap(settings)):
        pass  # the old KEK no longer opens the keys: refused at startup, not at the first read
    rotated = changed(settings, data_kek=new_kek)
    with TestClient(bootstrap(rotated)) as http:
        staff = Client(http).staff()
        assert http.get(f"/customers/{customer['id']}", headers=staff).json()["email"] == customer["email"]


def test_the_migration_encrypts_rows_written_before_it_and_the_downgrade_restores_them(
    new_database: Callable[[str], str], settings: ClienteSettings
) -> None:
    url = new_database("cliente_encrypt")
    assert migrate(SERVICE_DIR, url, "upgrade", "0003").returncode == 0
    engine = sa.create_engine(url)
    plain = {
        "name": "Ana Lima",
        "email": "ana.lima@example.com",
        "phone": "+55 31 98888-7777",
        "document": "52998224725",
    }
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, name, email, phone, document, password_hash, account_balance,"
                    " credit_limit, used_credit, status) VALUES (gen_random_uuid(), :name, :email, :phone,"
                    " :document, 'x', 0, 0, 0, 'ACTIVE')"
                ),
                plain,
            )
        kek = settings.data_kek
        assert kek is not None
        env = {"DATA_KEK": kek.get_secret_value()}
        without_key = migrate_with(url, {}, "upgrade", "head")
        assert without_key.returncode != 0 and "DATA_KEK" in without_key.stderr  # told what is missing
        assert migrate_with(url, env, "upgrade", "head").returncode == 0
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT name, email, phone, document FROM customers")).one()
        assert all(row._mapping[c].startswith("v1.") and plain[c] not in row._mapping[c] for c in PERSONAL)
        with TestClient(bootstrap(changed(settings, database_url=url))) as http:
            client = Client(http)
            [found] = http.get("/customers", headers=client.staff()).json()["customers"]
            opened = http.get(f"/customers/{found['id']}", headers=client.staff()).json()
            assert (opened["name"], opened["email"]) == (plain["name"], plain["email"])
        assert migrate_with(url, env, "downgrade", "0003").returncode == 0
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT name, email, phone, document FROM customers")).one()
        assert dict(row._mapping) == plain
    finally:
        engine.dispose()


def changed(settings: ClienteSettings, **changes: object) -> ClienteSettings:
    return ClienteSettings.model_validate({**settings.model_dump(), **changes})


def migrate_with(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    saved = {k: os.environ.pop(k) for k in ("DATA_KEK", "DATA_KEK_FILE", "KMS_KEY_NAME") if k in os.environ}
    os.environ.update(env)
    try:
        return migrate(Path(SERVICE_DIR), url, *args)
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def test_operators_rotate_the_data_key_with_one_command(client: Client, settings: ClienteSettings) -> None:
    customer = client.register()[0]
    before = stored(settings, customer["id"])["name"].split(".")[1]
    kek = settings.data_kek
    assert kek is not None
    env = {**os.environ, "DATABASE_URL": settings.database_url, "DATA_KEK": kek.get_secret_value()}
    for name in ("DATA_KEK_FILE", "KMS_KEY_NAME"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "app.adapters.keys", "rotate"], cwd=SERVICE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    after = {stored(settings, customer["id"])[c].split(".")[1] for c in PERSONAL}
    assert after != {before} and len(after) == 1 and f"new data key {after.pop()}" in result.stdout
