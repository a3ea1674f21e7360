"""Named staff: created by an operator's command with a password and a TOTP secret, signing
in with both (each code once), removed with their sessions; production has no other staff."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from pydantic import ValidationError

from app import staff
from app.config import ClienteSettings
from tests.conftest import Client


def sign_in(client: Client, email: str, password: str, code: str | None = None) -> Any:
    form = {"username": email, "password": password, **({"totp": code} if code is not None else {})}
    return client.http.post("/auth/token", data=form)


def code_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


@pytest.fixture
def named(client: Client, settings: ClienteSettings, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> dict[str, str]:
    """``python -m app.staff create`` as an operator runs it, against the test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_KEK", settings.data_kek.get_secret_value())  # type: ignore[union-attr]
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert staff.main(["create", "Ana.Souza@MercadoVeiculo.com.br"]) == 0
    printed = capsys.readouterr().out
    password = re.search(r"password: (\S+)", printed)
    uri = re.search(r"(otpauth://\S+)", printed)
    assert password and uri, printed
    secret = parse_qs(urlparse(uri.group(1)).query)["secret"][0]
    return {"email": "ana.souza@mercadoveiculo.com.br", "password": password.group(1), "secret": secret}


def test_named_staff_sign_in_with_their_password_and_a_code_each_code_once(
    client: Client, named: dict[str, str]
) -> None:
    email, password = named["email"], named["password"]
    assert code_of(sign_in(client, email, password)) == (401, "TOTP_REQUIRED")
    assert code_of(sign_in(client, email, password, "000000")) == (401, "INVALID_CREDENTIALS")
    assert code_of(sign_in(client, email, "wrong-password", "123456")) == (401, "INVALID_CREDENTIALS")
    code = pyotp.TOTP(named["secret"]).now()
    signed_in = sign_in(client, email, password, code)
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert client.http.get("/customers", headers=headers).status_code == 200  # staff
    assert code_of(sign_in(client, email, password, code)) == (401, "INVALID_CREDENTIALS")  # a replay


def test_removed_staff_can_neither_sign_in_nor_use_a_token(client: Client, named: dict[str, str], capsys: Any) -> None:
    signed_in = sign_in(client, named["email"], named["password"], pyotp.TOTP(named["secret"]).now())
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert staff.main(["list"]) == 0
    assert f"{named['email']}\t" in capsys.readouterr().out
    assert staff.main(["remove", named["email"]]) == 0
    assert client.http.get("/customers", headers=headers).status_code == 401
    assert sign_in(client, named["email"], named["password"], pyotp.TOTP(named["secret"]).now()).status_code == 401
    assert staff.main(["remove", named["email"]]) == 1  # nobody left to remove


def test_a_customers_email_never_becomes_staff(client: Client, named: dict[str, str], capsys: Any) -> None:
    customer, _ = client.register()
    assert staff.main(["create", customer["email"]]) == 1
    assert staff.main(["create", named["email"]]) == 1
    assert "customer" in capsys.readouterr().err


def test_production_has_no_shared_staff_account(settings: ClienteSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)  # the tests' emulator: no production has one
    production = {
        "environment": "production",
        "database_url": "postgresql://x",
        "jwks_url": "https://api.example/.well-known/jwks.json",
        "platform_auth": "oidc",
        "service_audience": "https://cliente.example",
        "push_service_account": "pusher@example.iam.gserviceaccount.com",
        "allowed_origins": ["https://shop.example"],
        "metrics_port": 9464,
        "kms_key_name": "projects/p/locations/l/keyRings/r/cryptoKeys/k",
        "jwt_private_key": "-----BEGIN PRIVATE KEY-----",
        "smtp_security": "starttls",
        "password_reset_url": "https://shop.example/redefinir-senha?token={token}",
    }
    assert not ClienteSettings.model_validate(production).has_startup_staff
    with pytest.raises(ValidationError, match="no shared staff account"):
        ClienteSettings.model_validate({**production, "staff_password": "a-shared-password-for-all"})
    assert settings.has_startup_staff  # locally and in the tests, the contract's staff account
