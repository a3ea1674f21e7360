"""Service trust: who may call a service as the platform rather than as a user.

Two kinds of callers are the platform:
- Pub/Sub delivering to ``POST /pubsub/push``, and
- another of our services (or Cloud Scheduler) calling an ``/internal/…`` endpoint.

In production each carries a Google-signed OIDC ID token. Its audience is the called
service's own URL (SERVICE_AUDIENCE), and its email is one of the service accounts allowed
there: PUSH_SERVICE_ACCOUNT for pushes, INTERNAL_CALLERS for internal endpoints. Locally
the emulator and the other services send no token: a secret random to each run stands in
for the platform's identity, ``X-Platform-Secret`` on internal calls and, on pushes (the
emulator cannot add headers), an HMAC of the message's data under that secret, which every
publisher adds as the ``platform-signature`` attribute. The secret is never in a URL. So a
local process that does not hold it, or a web page in the developer's browser, cannot
forge a push or an internal call; and the request must name an expected Host (a page on
another name rebinding to 127.0.0.1 does not) and, for a push, be ``application/json``
(which a page cannot send across origins without a preflight the service refuses).
Production refuses the secret mode.

Outgoing calls get their ID token from ``IdTokens``. On Cloud Run that is the metadata
server, through google-auth. Locally they carry the run's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Collection
from typing import Protocol, cast

import jwt
from fastapi import HTTPException, Request

from mercado_shared.auth import JwksKeySource, KeySource
from mercado_shared.errors import error_body

GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")


class CallerRefused(Exception):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


class CallerAuthenticator(Protocol):
    def check(self, request: Request, body: bytes = b"") -> None:
        """Raise CallerRefused unless the caller is the platform (``body``: a push's)."""
        ...


class SharedSecret:
    """Development across hosts (docker compose): the caller knows PLATFORM_SECRET, or the
    pushed message was signed with it by its publisher."""

    HEADER = "X-Platform-Secret"
    SIGNATURE = "platform-signature"  # a message attribute

    def __init__(self, secret: str, hosts: Collection[str] = ("127.0.0.1", "localhost", "::1")) -> None:
        self._secret = secret.encode()
        self.hosts = frozenset(hosts)

    def sign(self, data: bytes) -> str:
        return hmac.new(self._secret, data, hashlib.sha256).hexdigest()

    def check(self, request: Request, body: bytes = b"") -> None:
        host = (request.url.hostname or "").strip("[]")
        if host not in self.hosts:
            raise CallerRefused(403, f"unexpected Host {host!r}")
        if body and request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise CallerRefused(415, "a push is application/json")
        presented = request.headers.get(self.HEADER)
        if presented:
            if not hmac.compare_digest(presented.encode(), self._secret):
                raise CallerRefused(403, "wrong platform secret")
            return
        if not body:
            raise CallerRefused(401, "no platform secret")
        try:
            message = json.loads(body)["message"]
            data = base64.b64decode(message.get("data", ""), validate=True)
            signature = str(message.get("attributes", {}).get(self.SIGNATURE, ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CallerRefused(401, "not a signed push") from None
        if not signature:
            raise CallerRefused(401, "an unsigned push")
        if not hmac.compare_digest(signature.encode(), self.sign(data).encode()):
            raise CallerRefused(403, "a push signed with another secret")


class GoogleOidc:
    """A Google-signed ID token for ``audience`` from one of ``service_accounts``."""

    def __init__(self, audience: str, service_accounts: Collection[str] | str, keys: KeySource | None = None) -> None:
        self.audience = audience
        self.service_accounts = {service_accounts} if isinstance(service_accounts, str) else set(service_accounts)
        self.keys = keys or JwksKeySource(GOOGLE_JWKS_URL)

    def check(self, request: Request, body: bytes = b"") -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise CallerRefused(401, "no bearer token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.key_for(str(kid))
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                options={"require": ["exp", "iat", "iss", "aud", "email"]},
            )
        except Exception as exc:  # any flaw in the token: refused
            raise CallerRefused(401, f"invalid token: {type(exc).__name__}") from None
        if claims["iss"] not in GOOGLE_ISSUERS:
            raise CallerRefused(401, "not issued by Google")
        if claims["email"] not in self.service_accounts or claims.get("email_verified") is not True:
            raise CallerRefused(403, "not a service account allowed here")


class InternalCallers(Protocol):
    """What this module takes from the running service (mercado_shared.runtime.Runtime)."""

    internal_authenticator: CallerAuthenticator


def internal_caller(request: Request) -> None:
    """Dependency of every ``/internal/…`` route: the platform only (see module doc)."""
    try:
        cast(InternalCallers, request.app.state.runtime).internal_authenticator.check(request)
    except CallerRefused as refused:
        code = "UNAUTHENTICATED" if refused.status_code == 401 else "FORBIDDEN"
        raise HTTPException(refused.status_code, error_body(code, refused.reason)["detail"]) from None


class IdTokens:
    """ID tokens for calls to other services, cached until shortly before they expire.

    ``fetch(audience)`` returns a signed token; on Cloud Run ``google_id_token`` asks the
    metadata server; ``IdTokens.shared_secret`` sends the run's secret (outside production).
    """

    REFRESH_MARGIN = 300.0  # Google's tokens live an hour; renew five minutes before

    def __init__(self, fetch: Callable[[str], str] | None, static: dict[str, str] | None = None) -> None:
        self._fetch = fetch
        self._static = static or {}
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def shared_secret(cls, secret: str) -> IdTokens:
        return cls(None, {SharedSecret.HEADER: secret})

    def headers(self, audience: str) -> dict[str, str]:
        if self._fetch is None:
            return dict(self._static)
        with self._lock:
            token, expires = self._cache.get(audience, ("", 0.0))
            if time.time() > expires - self.REFRESH_MARGIN:
                token = self._fetch(audience)
                claims = jwt.decode(token, options={"verify_signature": False})  # our own token: its expiry
                self._cache[audience] = (token, float(claims["exp"]))
        return {"Authorization": f"Bearer {token}"}


def google_id_token(audience: str) -> str:
    """The service account's ID token for ``audience``, from the Cloud Run metadata server."""
    import google.auth.transport.requests
    import google.oauth2.id_token

    request = google.auth.transport.requests.Request()
    token: str = google.oauth2.id_token.fetch_id_token(request, audience)  # type: ignore[no-untyped-call]
    return token
