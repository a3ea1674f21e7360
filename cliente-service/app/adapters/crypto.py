"""Field-level encryption of personal data, and blind indexes to look it up.

- ``FieldCipher`` encrypts one value with AES-256-GCM, binding it to its column
  (associated data): a ciphertext moved to another column does not decrypt. Every
  ciphertext names its data key (``v1.<key id>.<nonce+ciphertext>``), so keys rotate:
  the newest key encrypts, every key still held decrypts.
- Envelope encryption: data keys are stored wrapped by a key-encryption key (``LocalKek``
  from the environment locally; Cloud KMS in production, behind the same ``Kek`` port).
- ``BlindIndex`` gives exact-match lookups (email at login, CPF for duplicates) without
  decrypting: a keyed HMAC of the normalised value, per column.

Not yet wired into the schema (issue 5): these are the tested building blocks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
_NONCE = 12


class DecryptionFailed(Exception):
    pass


class Kek(Protocol):
    def wrap(self, data_key: bytes) -> bytes: ...
    def unwrap(self, wrapped: bytes) -> bytes: ...


class LocalKek:
    """A key-encryption key held in the environment (local development and tests)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(key)

    def wrap(self, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, data_key, b"data-key")

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], b"data-key")
        except InvalidTag:
            raise DecryptionFailed("a data key did not unwrap: wrong key-encryption key") from None


@dataclass(frozen=True)
class WrappedKey:
    key_id: str
    wrapped: bytes


def new_data_key(kek: Kek, key_id: str) -> WrappedKey:
    return WrappedKey(key_id, kek.wrap(AESGCM.generate_key(bit_length=256)))


class FieldCipher:
    """Encrypts with the newest data key; decrypts with any it holds."""

    def __init__(self, kek: Kek, keys: list[WrappedKey]) -> None:
        if not keys:
            raise ValueError("at least one data key is needed")
        self._keys = {k.key_id: AESGCM(kek.unwrap(k.wrapped)) for k in keys}
        self._current = keys[-1].key_id

    def encrypt(self, plaintext: str, column: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), column.encode())
        return f"{VERSION}.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, column: str) -> str:
        try:
            version, key_id, payload = token.split(".", 2)
            raw = base64.urlsafe_b64decode(payload)
            if version != VERSION:
                raise ValueError(version)
            return self._keys[key_id].decrypt(raw[:_NONCE], raw[_NONCE:], column.encode()).decode()
        except (ValueError, KeyError, InvalidTag) as exc:
            raise DecryptionFailed(f"{column}: {type(exc).__name__}") from None


class BlindIndex:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the blind-index key must be at least 32 bytes")
        self._key = key

    def of(self, value: str, column: str) -> str:
        message = f"{column}\x00{value.strip().lower()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
