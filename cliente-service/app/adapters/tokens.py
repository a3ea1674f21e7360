"""Signing access tokens (ES256) and publishing the public keys as a JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mercado_shared.auth import ALGORITHM, Role


def load_or_generate_key(pem: str | None, path: str | None) -> ec.EllipticCurvePrivateKey:
    if path:
        pem = Path(path).read_text()
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the JWT signing key must be an EC P-256 private key")
        return key
    return ec.generate_private_key(ec.SECP256R1())


def load_public_keys(pems: str | None) -> list[ec.EllipticCurvePublicKey]:
    """Every PEM public key in ``pems`` (retired signing keys, during a rotation)."""
    keys = []
    for block in (pems or "").split("-----END PUBLIC KEY-----"):
        if "-----BEGIN PUBLIC KEY-----" in block:
            key = serialization.load_pem_public_key((block.strip() + "\n-----END PUBLIC KEY-----\n").encode())
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("a retired JWT key must be an EC P-256 public key")
            keys.append(key)
    return keys


def _public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    # RFC 7638 thumbprint as the key id: stable for a key, different for every key.
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


class TokenIssuer:
    def __init__(
        self,
        signing_key: ec.EllipticCurvePrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        retired: list[ec.EllipticCurvePublicKey] | None = None,
    ) -> None:
        self._key = signing_key
        self._jwk = _public_jwk(signing_key.public_key())
        self._retired = [_public_jwk(k) for k in retired or []]
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, subject: str, role: Role, session_version: int) -> str:
        """``session_version``: the account's now (claim ``ver``; mercado_shared.sessions)."""
        now = int(time.time())
        claims = {
            "sub": subject,
            "role": role.value,
            "ver": session_version,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._jwk["kid"]})

    def jwks(self) -> dict[str, Any]:
        """The signing key first, then retired ones still trusted for the tokens they signed."""
        return {"keys": [self._jwk, *self._retired]}
