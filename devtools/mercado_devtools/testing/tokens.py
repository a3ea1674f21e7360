"""Real ES256 tokens for a service under test, signed by a key the test owns."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from mercado_shared.auth import ALGORITHM, Role, StaticKeySource

ISSUER = "mercado-veiculo"
AUDIENCE = "mercado-veiculo-api"


class TestTokens:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.kid = uuid.uuid4().hex
        self.jwks: dict[str, Any] = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}

    def key_source(self) -> StaticKeySource:
        return StaticKeySource(self.jwks)

    def token(self, subject: str, role: Role, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": subject, "role": role.value, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        body.update(claims)
        return jwt.encode(body, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def headers(self, subject: str | None = None, role: Role = Role.CUSTOMER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject or str(uuid.uuid4()), role)}"}

    def staff(self) -> dict[str, str]:
        return self.headers(role=Role.STAFF)
