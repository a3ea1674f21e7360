"""Tokens: asymmetric, algorithm pinned, iss/aud/exp checked, key ids that rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from app.bootstrap import bootstrap
from app.config import ClienteSettings
from app.entrypoints.deps import ClienteContext
from mercado_shared.runtime import app_context
from tests.conftest import Client


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def genuine(client: Client) -> tuple[str, dict[str, Any], dict[str, Any]]:
    _, headers = client.register()
    token = headers["Authorization"].split()[1]
    header, claims = claims_of(token)
    return token, header, claims


def me_status(client: Client, token: str) -> int:
    return int(client.http.get("/customers/me", headers={"Authorization": f"Bearer {token}"}).status_code)


def test_the_genuine_token_is_es256_with_every_claim(
    client: Client, genuine: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    token, header, claims = genuine
    assert (header["alg"], bool(header["kid"])) == ("ES256", True)
    assert {"sub", "role", "iss", "aud", "exp", "iat"} <= set(claims)
    assert me_status(client, token) == 200


# Signed by the service's own key, with one claim wrong.
STALE_OR_MISADDRESSED: dict[str, dict[str, Any]] = {
    "expired": {"exp": int(time.time()) - 1},
    "wrong audience": {"aud": "another-api"},
    "wrong issuer": {"iss": "someone-else"},
}
# Not signed by the service's key at all.
FORGERIES: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], str]] = {
    "signed by another key": lambda t, h, c: jwt.encode(
        c, ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": h["kid"]}
    ),
    "unknown key id": lambda t, h, c: jwt.encode(c, ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": "nope"}),
    "alg none": lambda t, h, c: f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': h['kid']})}.{b64(c)}.",
    "claims tampered": lambda t, h, c: f"{t.split('.')[0]}.{b64({**c, 'role': 'staff'})}.{t.split('.')[2]}",
    "not a jwt": lambda t, h, c: "garbage",
}


@pytest.mark.parametrize("case", sorted(STALE_OR_MISADDRESSED))
def test_an_expired_or_misaddressed_token_is_401(
    client: Client, genuine: tuple[str, dict[str, Any], dict[str, Any]], case: str
) -> None:
    _, header, claims = genuine
    key = app_context(client.http.app, ClienteContext).issuer._key  # the genuine signing key
    token = jwt.encode({**claims, **STALE_OR_MISADDRESSED[case]}, key, "ES256", {"kid": header["kid"]})
    assert me_status(client, token) == 401


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_token_is_401(
    client: Client, genuine: tuple[str, dict[str, Any], dict[str, Any]], forgery: str
) -> None:
    assert me_status(client, FORGERIES[forgery](*genuine)) == 401


def test_hs256_signed_with_the_public_key_is_401(
    client: Client, genuine: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    """The classic confusion: an HMAC keyed with the published public key."""
    _, header, claims = genuine
    jwks = client.http.get("/.well-known/jwks.json").json()
    public = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwks["keys"][0]))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    secret = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert me_status(client, _hs256(secret, {**claims, "role": "staff"}, header["kid"])) == 401


def _hs256(secret: bytes, claims: dict[str, Any], kid: str) -> str:
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def test_during_a_key_rotation_tokens_of_both_keys_are_valid(settings: ClienteSettings) -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    staff = {"username": settings.staff_email, "password": settings.staff_password}
    with TestClient(bootstrap(settings.model_copy(update={"jwt_private_key": pem(old)}))) as before:
        old_token = before.post("/auth/token", data=staff).json()["access_token"]
    rotated = settings.model_copy(update={"jwt_private_key": pem(new), "jwt_retired_public_keys": public_pem(old)})
    with TestClient(bootstrap(rotated)) as after:
        new_token = after.post("/auth/token", data=staff).json()["access_token"]
        kids = [k["kid"] for k in after.get("/.well-known/jwks.json").json()["keys"]]
        assert kids == [claims_of(new_token)[0]["kid"], claims_of(old_token)[0]["kid"]]  # signing key first
        for token in (old_token, new_token):
            assert after.get("/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    done = settings.model_copy(update={"jwt_private_key": pem(new)})  # rotation over: the old key is gone
    with TestClient(bootstrap(done)) as later:
        assert later.get("/customers", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
