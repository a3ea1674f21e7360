"""Personal data at rest: encrypted per field, found by blind index, keys that rotate."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.adapters.crypto import DecryptionFailed, LocalKek
from app.adapters.keys import kek_from_settings, reencrypt, rewrap, rotate_field_key, seal, vault_for
from app.bootstrap import bootstrap
from app.config import ClienteSettings
from app.entrypoints.deps import ClienteContext
from mercado_devtools.testing.fixtures import migrate
from mercado_devtools.testing.helpers import eventually
from mercado_shared.runtime import app_context, app_runtime
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


def test_a_change_to_money_alone_writes_no_personal_column(client: Client) -> None:
    """A hold or a credit limit moves money many times a customer's life: it neither seals
    nor indexes anything again."""
    customer = client.register()[0]
    engine = app_runtime(client.http.app).engine
    updates: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE customers"):
            updates.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        limit = client.http.patch(f"/customers/{customer['id']}", json={"credit_limit": 500}, headers=client.staff())
        assert limit.status_code == 200, limit.text
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    [update] = updates
    assert "credit_limit" in update
    assert not [c for c in ("name", "email", "phone", "document", "_index", "sealed_") if c in update], update


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


# ------------------------------------------------------------------ customer keys (v2)
def raw(settings: ClienteSettings, sql: str, **params: object) -> list[sa.Row[Any]]:
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def sealed(settings: ClienteSettings, customer_id: str) -> dict[str, str]:
    columns = ", ".join(f"sealed_{c}" for c in PERSONAL)
    [row] = raw(settings, f"SELECT {columns} FROM customers WHERE id = :i", i=customer_id)  # noqa: S608
    return {c: row._mapping[f"sealed_{c}"] for c in PERSONAL}


def wrapped_key(settings: ClienteSettings, customer_id: str) -> str | None:
    rows = raw(settings, "SELECT wrapped FROM customer_keys WHERE customer_id = :i", i=customer_id)
    return str(rows[0].wrapped) if rows else None


def test_each_customer_is_sealed_under_its_own_key_bound_to_its_row_and_column(
    client: Client, settings: ClienteSettings
) -> None:
    bodies = [client.body(name="Ana Prado"), client.body(name="Bia Prado")]
    ana, bia = (client.http.post("/customers", json=b).json()["id"] for b in bodies)
    for customer_id, body in zip((ana, bia), bodies, strict=True):
        row = sealed(settings, customer_id)
        assert all(row[c].startswith("v2.") and body[c] not in row[c] for c in PERSONAL)
    assert wrapped_key(settings, ana) != wrapped_key(settings, bia)

    uow = app_runtime(client.http.app).uow_factory
    with uow() as unit:
        found = unit.customers.get(bia)
        assert found is not None and found.name == "Bia Prado"
    # Someone with write access to the database moves Ana's sealed e-mail into Bia's row,
    # then Bia's sealed phone into her e-mail: neither opens.
    for source, column in ((ana, "sealed_email"), (bia, "sealed_phone")):
        raw(
            settings,
            f"UPDATE customers SET sealed_email = (SELECT {column} FROM customers WHERE id = :s) WHERE id = :t",  # noqa: S608
            s=source,
            t=bia,
        )
        with uow() as unit, pytest.raises(DecryptionFailed, match="email"):
            unit.customers.get(bia)


def test_a_destroyed_key_leaves_every_old_copy_of_the_ciphertexts_unreadable(
    client: Client, settings: ClienteSettings
) -> None:
    customer = client.register(name="Carla Prado")[0]
    copies, old_key = sealed(settings, customer["id"]), wrapped_key(settings, customer["id"])
    runtime = app_runtime(client.http.app)
    with runtime.uow_factory() as uow:
        found = uow.customers.get_for_update(customer["id"])
        found.anonymise(open_holds=0)
        uow.customers.destroy_key(found)
        uow.commit()
    new_key = wrapped_key(settings, customer["id"])
    assert new_key is not None and new_key != old_key
    assert not raw(settings, "SELECT 1 FROM customer_keys WHERE wrapped = :w", w=old_key)  # gone, not moved
    vault = app_context(client.http.app, ClienteContext).vault
    key = vault.unwrap_row_key(new_key, "customers", customer["id"])
    for column, token in copies.items():
        with pytest.raises(DecryptionFailed):
            key.open(token, column)
    with runtime.uow_factory() as uow:
        erased = uow.customers.get(customer["id"])
        assert erased is not None and "Carla" not in erased.name


def test_a_row_the_revision_before_wrote_is_read_from_v1_and_sealed_again(
    client: Client, settings: ClienteSettings
) -> None:
    customer = client.register()[0]
    vault = app_context(client.http.app, ClienteContext).vault
    # The revision before changes the e-mail in v1 only: the database clears the sealed copy.
    raw(
        settings,
        "UPDATE customers SET email = :e WHERE id = :i",
        e=vault.encrypt("antes@example.com", "email"),
        i=customer["id"],
    )
    assert sealed(settings, customer["id"])["email"] is None
    staff = client.staff()
    assert client.http.get(f"/customers/{customer['id']}", headers=staff).json()["email"] == "antes@example.com"
    # …and a customer it registered has neither a key nor sealed fields.
    raw(settings, "DELETE FROM customer_keys WHERE customer_id = :i", i=customer["id"])
    kek = kek_from_settings(settings)
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            assert seal(conn, vault_for(engine, kek)) >= 1
            assert seal(conn, vault_for(engine, kek)) == 0
    finally:
        engine.dispose()
    assert sealed(settings, customer["id"])["email"].startswith("v2.")
    assert client.http.get(f"/customers/{customer['id']}", headers=staff).json()["email"] == "antes@example.com"


def test_a_locking_read_that_waited_for_an_erasure_opens_the_row_under_its_new_key(
    client: Client, settings: ClienteSettings
) -> None:
    customer = client.register(name="Dora Prado")[0]
    runtime = app_runtime(client.http.app)

    def read_locked() -> str:  # what a hold or a change does: the row, locked
        with runtime.uow_factory() as uow:
            found = uow.customers.get_for_update(customer["id"])
            return str(found.name)

    def a_read_waits_for_the_lock() -> None:
        waiting = raw(
            settings, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        assert waiting

    with runtime.uow_factory() as eraser, ThreadPoolExecutor(1) as pool:
        found = eraser.customers.get_for_update(customer["id"])
        found.anonymise(open_holds=0)
        eraser.customers.destroy_key(found)
        eraser.session.flush()  # the row changed and its key replaced, not yet committed
        reader = pool.submit(read_locked)
        eventually(a_read_waits_for_the_lock)
        eraser.commit()
        name = reader.result(timeout=30)
    assert name != "Dora Prado" and name == found.name
