"""Only Pub/Sub may push: a Google-style OIDC token, checked against keys served locally."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mercado_shared.auth import JwksKeySource
from mercado_shared.messaging.bus import MessageBus
from mercado_shared.messaging.push import push_router
from mercado_shared.messaging.push_auth import GoogleOidc, LoopbackOnly, PushAuthenticator
from mercado_shared.testing.helpers import serve

AUDIENCE = "https://orquestrador.example.run.app/pubsub/push"
PUSHER = "pubsub-push@project.iam.gserviceaccount.com"
# Passes authentication, then is refused as undecodable: 400 means "let in".
BODY = json.dumps({"message": {"data": "bm90IGFuIGVudmVsb3Bl", "messageId": "1"}, "subscription": "s"})


class Keys:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": "google-1", "use": "sig", "alg": "RS256"}]}

    def token(self, key: Any = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "aud": AUDIENCE,
            "email": PUSHER,
            "email_verified": True,
            "iat": now,
            "exp": now + 300,
            "sub": "1234",
        }
        claims.update(overrides)
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "google-1"})


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def certs_url(keys: Keys) -> Iterator[str]:
    certs = FastAPI()
    certs.get("/oauth2/v3/certs")(lambda: keys.jwks)
    with serve(certs) as url:
        yield url + "/oauth2/v3/certs"


def pushed(authenticator: PushAuthenticator, headers: dict[str, str]) -> int:
    app = FastAPI()
    app.include_router(push_router("svc", "/pubsub/push", MessageBus("svc", lambda: None, {}), 5, authenticator))
    with TestClient(app) as client:
        return int(client.post("/pubsub/push", content=BODY, headers=headers).status_code)


def test_pubsubs_own_token_is_let_in(keys: Keys, certs_url: str) -> None:
    oidc = GoogleOidc(AUDIENCE, PUSHER, JwksKeySource(certs_url))
    assert pushed(oidc, {"Authorization": f"Bearer {keys.token()}"}) == 400


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"aud": "https://another-service/pubsub/push"}, 401),
        ({"iss": "https://evil.example"}, 401),
        ({"exp": int(time.time()) - 10}, 401),
        ({"email": "someone@project.iam.gserviceaccount.com"}, 403),
        ({"email_verified": False}, 403),
    ],
)
def test_a_token_for_someone_else_or_from_someone_else_is_refused(
    keys: Keys, certs_url: str, overrides: dict[str, Any], status: int
) -> None:
    oidc = GoogleOidc(AUDIENCE, PUSHER, JwksKeySource(certs_url))
    assert pushed(oidc, {"Authorization": f"Bearer {keys.token(**overrides)}"}) == status


def test_no_token_or_a_forged_one_is_refused(keys: Keys, certs_url: str) -> None:
    oidc = GoogleOidc(AUDIENCE, PUSHER, JwksKeySource(certs_url))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert pushed(oidc, {}) == 401
    assert pushed(oidc, {"Authorization": f"Bearer {keys.token(key=forger)}"}) == 401
    assert pushed(oidc, {"Authorization": "Bearer not-a-token"}) == 401


def test_locally_only_loopback_may_push() -> None:
    assert pushed(LoopbackOnly(), {}) == 403  # the test client is not loopback


def test_keys_that_cannot_be_fetched_are_a_503_not_a_401() -> None:
    """A valid token must not be refused because the key server is down for a moment."""
    from fastapi import Depends

    from mercado_shared.auth import CurrentUser, Role, TokenVerifier, current_principal
    from mercado_shared.devstack import free_port
    from mercado_shared.testing.tokens import AUDIENCE, ISSUER, TestTokens

    app = FastAPI()
    app.state.token_verifier = TokenVerifier(
        JwksKeySource(f"http://127.0.0.1:{free_port()}/nothing-listens-here"), issuer=ISSUER, audience=AUDIENCE
    )

    @app.get("/me", dependencies=[Depends(current_principal)])
    def me(principal: CurrentUser) -> str:
        return principal.subject

    with TestClient(app) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {TestTokens().token('c1', Role.CUSTOMER)}"})
    assert (response.status_code, response.json()["detail"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert response.headers["Retry-After"] == "2"
