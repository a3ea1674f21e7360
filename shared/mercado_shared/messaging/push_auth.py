"""Who may deliver messages to the push endpoint.

In production only Pub/Sub itself: each push carries a Google-signed OIDC token whose
audience is ours and whose email is the push subscription's service account. Locally the
emulator sends no token, so only loopback callers are accepted.
"""

from __future__ import annotations

from typing import Protocol

import jwt
from fastapi import Request

from mercado_shared.auth import JwksKeySource, KeySource

GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class PushRefused(Exception):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


class PushAuthenticator(Protocol):
    def check(self, request: Request) -> None:
        """Raise PushRefused unless the caller may deliver messages."""
        ...


class LoopbackOnly:
    def check(self, request: Request) -> None:
        if request.client is None or request.client.host not in LOOPBACK:
            raise PushRefused(403, "only loopback may push without a token (development)")


class GoogleOidc:
    def __init__(self, audience: str, service_account: str, keys: KeySource | None = None) -> None:
        self.audience = audience
        self.service_account = service_account
        self.keys = keys or JwksKeySource(GOOGLE_JWKS_URL)

    def check(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise PushRefused(401, "no bearer token")
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
            raise PushRefused(401, f"invalid token: {type(exc).__name__}") from None
        if claims["iss"] not in GOOGLE_ISSUERS:
            raise PushRefused(401, "not issued by Google")
        if claims["email"] != self.service_account or claims.get("email_verified") is not True:
            raise PushRefused(403, "not the push subscription's service account")
