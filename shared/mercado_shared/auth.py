"""Token verification, the same in every service: ES256 JWTs checked offline against the JWKS.

cliente-service signs; every service (cliente-service included) verifies with a key source:
``JwksKeySource`` fetches and caches ``/.well-known/jwks.json``, ``StaticKeySource`` holds
keys already in memory. The algorithm is pinned, and ``iss``, ``aud``, ``exp`` and a key
id are required, so ``alg: none`` or a token signed with another key or algorithm fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol, cast

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from mercado_shared.sessions import Revocations

ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "role"]


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    session_version: int = 0  # the account's session version its token was issued at (mercado_shared.sessions)

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF

    def sees(self, owner: str) -> bool:
        """The owner-or-staff rule of every service: staff see every customer's records, a
        customer only its own. Each service's ``access.require_visible`` applies it and
        answers 404 otherwise, so nobody learns that another's record exists."""
        return self.is_staff or self.subject == owner


class InvalidToken(Exception):
    pass


class KeysUnavailable(Exception):
    """The keys could not be fetched: the token may well be valid; try again."""


class KeySource(Protocol):
    def key_for(self, kid: str) -> Any: ...


class StaticKeySource:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}

    def key_for(self, kid: str) -> Any:
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("unknown key id") from None


class JwksKeySource:
    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)

    def key_for(self, kid: str) -> Any:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnavailable from None
        except jwt.PyJWKClientError as exc:
            raise InvalidToken(str(exc)) from None


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, audience: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or not header.get("kid"):
                raise InvalidToken("unexpected algorithm or no key id")
            key = self.keys.key_for(str(header["kid"]))
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
            version = claims.get("ver", 0)  # tokens from before session versions: 0
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise InvalidToken("the session version is not a whole number")
            return Principal(subject=str(claims["sub"]), role=Role(claims["role"]), session_version=version)
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(str(exc)) from None


_bearer = HTTPBearer(auto_error=False, description="A token from cliente-service's POST /auth/token")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail={"code": "NOT_AUTHENTICATED", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


class SessionChecks(Protocol):
    """What this module takes from the running service (mercado_shared.runtime.Runtime, which
    conforms): named here, so that auth, below the runtime, does not import it."""

    token_verifier: TokenVerifier
    revocations: Revocations


def _running(request: Request) -> SessionChecks:
    return cast(SessionChecks, request.app.state.runtime)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required")
    verifier = _running(request).token_verifier
    try:
        principal = verifier.verify(credentials.credentials)
    except InvalidToken:
        raise _unauthorized("the token is invalid or expired") from None
    except KeysUnavailable:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail={"code": "SERVICE_UNAVAILABLE", "message": "cannot check tokens right now; retry"},
            headers={"Retry-After": "2"},
        ) from None
    revocations = _running(request).revocations
    if revocations.ended(principal.subject, principal.session_version):
        raise _unauthorized("this session was ended (a new password, an erasure or staff's action); sign in again")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def require_staff(principal: CurrentUser) -> Principal:
    if not principal.is_staff:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail={"code": "FORBIDDEN", "message": "staff only"},
        )
    return principal


StaffUser = Annotated[Principal, Depends(require_staff)]


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """Anonymous callers are allowed; a token, if sent, must be valid. Async, so that an
    anonymous buyer's request takes no thread-pool hop for it; a token's check may fetch
    keys or read revocations, so it takes one."""
    if credentials is None:
        return None
    return await run_in_threadpool(current_principal, request, credentials)


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
