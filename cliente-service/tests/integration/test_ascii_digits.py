"""Digits are ASCII: a CPF, phone or amount in another script's digits is refused (or, in
full-width form, put in NFKC first), so one person cannot register twice; and CPFs stored
before in other digits are rewritten and re-indexed by migration 0006."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.adapters.keys import kek_from_settings, vault_for
from app.bootstrap import bootstrap
from app.config import ClienteSettings
from mercado_devtools.testing.fixtures import migrate
from mercado_shared.runtime import app_runtime
from tests.conftest import SERVICE_DIR, Client

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_another_scripts_digits_are_refused_and_full_width_ones_read_as_ascii(client: Client, cpf: str) -> None:
    refused = client.http.post("/customers", json=client.body(document=cpf.translate(ARABIC_INDIC)))
    assert refused.status_code == 422
    phone = client.http.post("/customers", json=client.body(phone="+55 11 91234-5678".translate(ARABIC_INDIC)))
    assert phone.status_code == 422
    amount = client.http.post("/customers", json=client.body(initial_balance="١٠٠"), headers=client.staff())
    assert amount.status_code == 422
    customer, _ = client.register(document=cpf.translate(FULL_WIDTH))
    with app_runtime(client.http.app).uow_factory() as uow:
        stored = uow.customers.get(customer["id"])
        assert stored is not None and stored.document == cpf  # stored as an invoice would print it
    again = client.http.post("/customers", json=client.body(document=cpf))
    assert again.status_code == 409 and again.json()["detail"]["code"] == "DOCUMENT_ALREADY_REGISTERED"


def test_the_migration_rewrites_a_cpf_stored_in_other_digits_and_reindexes_it(
    new_database: Callable[[str], str], settings: ClienteSettings, cpf: str
) -> None:
    url = new_database("cliente_ascii")
    assert migrate(SERVICE_DIR, url, "upgrade", "0005").returncode == 0
    engine = sa.create_engine(url)
    vault = vault_for(engine, kek_from_settings(settings))
    written = cpf.translate(ARABIC_INDIC)  # as the old validation let it through
    values = {"name": "Ana Lima", "email": "ana@example.com", "phone": "+5531988887777", "document": written}
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, name, email, phone, document, email_index, document_index,"
                    " password_hash, account_balance, credit_limit, used_credit, status) VALUES"
                    " (gen_random_uuid(), :name, :email, :phone, :document, :email_index, :document_index,"
                    " 'x', 0, 0, 0, 'ACTIVE')"
                ),
                {
                    **{k: vault.encrypt(v, k) for k, v in values.items()},
                    "email_index": vault.index(values["email"], "email"),
                    "document_index": vault.index(written, "document"),
                },
            )
        kek = settings.data_kek
        assert kek is not None
        os.environ["DATA_KEK"] = kek.get_secret_value()
        try:
            result = migrate(Path(SERVICE_DIR), url, "upgrade", "head")
        finally:
            os.environ.pop("DATA_KEK")
        assert result.returncode == 0, result.stderr
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT document, document_index FROM customers")).one()
        assert vault.decrypt(row.document, "document") == cpf
        assert row.document_index == vault.index(cpf, "document")
    finally:
        engine.dispose()
    with TestClient(bootstrap(settings.model_copy(update={"database_url": url}))) as http:
        duplicate = http.post("/customers", json=Client.body(document=cpf))
        assert duplicate.status_code == 409  # the same person, now found by the index
