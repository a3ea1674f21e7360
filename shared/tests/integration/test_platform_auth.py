"""Only the platform may push or call internal routes: Google-style OIDC ID tokens,
signed and served locally as Google serves its keys; loopback in development."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from mercado_devtools.testing.helpers import serve
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.auth import JwksKeySource, Role
from mercado_shared.messaging.bus import MessageBus
from mercado_shared.messaging.push import push_router
from mercado_shared.platform_auth import (
    CallerAuthenticator,
    GoogleOidc,
    IdTokens,
    SharedSecret,
    internal_caller,
)

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


def pushed(authenticator: CallerAuthenticator, headers: dict[str, str]) -> int:
    app = FastAPI()
    app.include_router(push_router("svc", "/pubsub/push", MessageBus("svc", lambda: None, {}), 5, authenticator))
    with TestClient(app) as client:
        return int(
            client.post(
                "/pubsub/push", content=BODY, headers={"content-type": "application/json", **headers}
            ).status_code
        )


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


def test_locally_a_push_needs_this_runs_secret_the_expected_host_and_json() -> None:
    secret = SharedSecret("s" * 40, hosts=["testserver"])
    assert pushed(secret, {}) == 401  # unsigned
    assert pushed(SharedSecret("s" * 40), {}) == 403  # Host testserver is not one it expects
    app = FastAPI()
    app.include_router(push_router("svc", "/pubsub/push", MessageBus("svc", lambda: None, {}), 5, secret))
    with TestClient(app) as client:
        assert client.post("/pubsub/push", content=BODY, headers={"content-type": "text/plain"}).status_code == 415


ORCHESTRATOR = "orquestrador@project.iam.gserviceaccount.com"
CLIENTE_URL = "https://cliente-service.example.run.app"


def internal_app(authenticator: CallerAuthenticator) -> FastAPI:
    app = FastAPI()
    app.state.runtime = SimpleNamespace(internal_authenticator=authenticator)

    @app.get("/internal/ping", dependencies=[Depends(internal_caller)])
    def ping() -> str:
        return "pong"

    return app


def test_internal_routes_take_the_allowed_services_id_tokens_only(keys: Keys, certs_url: str) -> None:
    oidc = GoogleOidc(CLIENTE_URL, [ORCHESTRATOR], JwksKeySource(certs_url))
    user_token = TestTokens().token("c1", Role.STAFF)  # even staff's own token is not the platform
    with TestClient(internal_app(oidc)) as client:

        def answer(headers: dict[str, str]) -> tuple[int, str]:
            response = client.get("/internal/ping", headers=headers)
            return response.status_code, response.json() if response.status_code == 200 else response.json()["detail"][
                "code"
            ]

        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        assert answer(bearer(keys.token(aud=CLIENTE_URL, email=ORCHESTRATOR))) == (200, "pong")
        assert answer(bearer(keys.token(aud=CLIENTE_URL))) == (403, "FORBIDDEN")  # Pub/Sub's account
        assert answer(bearer(keys.token(aud="https://veiculo-service.example.run.app", email=ORCHESTRATOR))) == (
            401,
            "UNAUTHENTICATED",
        )
        assert answer(bearer(user_token)) == (401, "UNAUTHENTICATED")
        assert answer({}) == (401, "UNAUTHENTICATED")


def test_outgoing_calls_carry_an_id_token_for_the_callee_renewed_before_it_expires(keys: Keys, certs_url: str) -> None:
    """The caller's side: IdTokens asks for a token per audience, reuses it, renews it in time."""
    fetched: list[str] = []
    lifetime = {"seconds": 3600}

    def fetch(audience: str) -> str:  # what the metadata server does on Cloud Run
        fetched.append(audience)
        return keys.token(aud=audience, email=ORCHESTRATOR, exp=int(time.time()) + lifetime["seconds"])

    tokens = IdTokens(fetch)
    with serve(internal_app(GoogleOidc(CLIENTE_URL, [ORCHESTRATOR], JwksKeySource(certs_url)))) as url:
        for _ in range(3):
            assert httpx.get(url + "/internal/ping", headers=tokens.headers(CLIENTE_URL)).json() == "pong"
    assert fetched == [CLIENTE_URL]  # one token, reused
    tokens.headers("https://veiculo-service.example.run.app")
    assert fetched == [CLIENTE_URL, "https://veiculo-service.example.run.app"]  # one per audience
    lifetime["seconds"] = 60  # a token that expires within the margin is renewed at once
    tokens = IdTokens(fetch)
    tokens.headers(CLIENTE_URL)
    tokens.headers(CLIENTE_URL)
    assert fetched[-2:] == [CLIENTE_URL, CLIENTE_URL]
    assert IdTokens.shared_secret("s" * 40).headers(CLIENTE_URL) == {"X-Platform-Secret": "s" * 40}  # local


def test_keys_that_cannot_be_fetched_are_a_503_not_a_401() -> None:
    """A valid token must not be refused because the key server is down for a moment."""
    from fastapi import Depends

    from mercado_devtools.processes import free_port
    from mercado_devtools.testing.tokens import AUDIENCE, ISSUER, TestTokens
    from mercado_shared.auth import CurrentUser, Role, TokenVerifier, current_principal

    app = FastAPI()
    app.state.runtime = SimpleNamespace(
        token_verifier=TokenVerifier(
            JwksKeySource(f"http://127.0.0.1:{free_port()}/nothing-listens-here"), issuer=ISSUER, audience=AUDIENCE
        )
    )

    @app.get("/me", dependencies=[Depends(current_principal)])
    def me(principal: CurrentUser) -> str:
        return principal.subject

    with TestClient(app) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {TestTokens().token('c1', Role.CUSTOMER)}"})
    assert (response.status_code, response.json()["detail"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert response.headers["Retry-After"] == "2"


def test_across_hosts_in_development_a_shared_secret_stands_for_the_platform() -> None:
    secret = "s" * 40
    app = internal_app(SharedSecret(secret, hosts=["testserver"]))
    with TestClient(app) as client:
        assert client.get("/internal/ping", headers=IdTokens.shared_secret(secret).headers("any")).status_code == 200
        assert client.get("/internal/ping", params={"platform_secret": secret}).status_code == 401  # never in a URL
        assert client.get("/internal/ping", headers={"X-Platform-Secret": "t" * 40}).status_code == 403
        assert client.get("/internal/ping").status_code == 401
    assert pushed(SharedSecret(secret, ["testserver"]), {"X-Platform-Secret": secret}) == 400  # let in, undecodable


def test_a_push_in_shared_secret_mode_is_let_in_only_if_its_publisher_signed_it() -> None:
    secret = SharedSecret("s" * 40, hosts=["testserver"])
    data = b"not an envelope"

    def push(attributes: dict[str, str]) -> int:
        body = json.dumps(
            {"message": {"data": base64.b64encode(data).decode(), "messageId": "1", "attributes": attributes}}
            | {"subscription": "s"}
        )
        app = FastAPI()
        app.include_router(push_router("svc", "/pubsub/push", MessageBus("svc", lambda: None, {}), 5, secret))
        with TestClient(app) as client:
            return int(
                client.post("/pubsub/push", content=body, headers={"content-type": "application/json"}).status_code
            )

    assert push({"platform-signature": secret.sign(data)}) == 400  # let in, then undecodable
    assert push({"platform-signature": SharedSecret("t" * 40, ["testserver"]).sign(data)}) == 403
    assert push({"platform-signature": secret.sign(b"another message")}) == 403
    assert push({}) == 401
