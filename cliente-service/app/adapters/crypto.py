"""Field-level encryption of personal data, and blind indexes to look it up.

- A customer's personal fields are sealed with AES-256-GCM under the customer's own key
  (``RowKey``), bound by associated data to table, column and row
  (``customers.email.<id>``): a ciphertext copied to another column or another customer's
  row does not open. The row key is stored wrapped by a data key and destroyed when the
  customer is erased (crypto-shredding): whatever copy of the old ciphertexts remains can
  no longer be opened once no copy of the key does (docs/security.md says where copies live).
- ``FieldCipher`` encrypts with the service's data keys, binding a value to a name given
  by the caller (associated data). Every ciphertext names its data key
  (``v1.<key id>.<nonce+ciphertext>``), so keys rotate: the newest key encrypts, every
  key still held decrypts. It wraps the row keys and encrypts the few values that belong
  to no customer (a staff member's TOTP secret, mail waiting for the relay).
- Envelope encryption: data keys are stored wrapped by a key-encryption key (``LocalKek``
  from the environment locally; Cloud KMS in production, behind the same ``Kek`` port).
- ``BlindIndex`` gives exact-match lookups (email at login, CPF for duplicates) without
  decrypting: a keyed HMAC of the normalised value, per column.

``keys.py`` stores the wrapped keys in the ``data_keys`` table; ``orm.py`` applies them
to the columns through ``PersonalDataVault``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mercado_shared import cloud_access

VERSION = "v1"
_NONCE = 12


class DecryptionFailed(Exception):
    pass


class UnknownDataKey(DecryptionFailed):
    """The ciphertext names a data key this process has not loaded (another rotated it)."""


class Kek(Protocol):
    def wrap(self, data_key: bytes) -> bytes: ...
    def unwrap(self, wrapped: bytes) -> bytes: ...


class LocalKek:
    """A key-encryption key held in the environment (local development and tests)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(key)
        self.fingerprint = hashlib.sha256(b"kek-fingerprint\x00" + key).hexdigest()[:16]

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

    @property
    def current_key_id(self) -> str:
        return self._current

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
            aead = self._keys.get(key_id)
            if aead is None:
                raise UnknownDataKey(f"{column}: data key {key_id!r} not loaded")
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], column.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise DecryptionFailed(f"{column}: {type(exc).__name__}") from None


ROW_VERSION = "v2"


class RowKey:
    """One row's own AES-256 key: seals and opens that row's fields, and nothing else's."""

    def __init__(self, key: bytes, table: str, row_id: str) -> None:
        self._aead = AESGCM(key)
        self.material = key
        self._prefix = f"{table}.{{}}.{row_id}"

    @classmethod
    def new(cls, table: str, row_id: str) -> RowKey:
        return cls(AESGCM.generate_key(bit_length=256), table, row_id)

    def _bound_to(self, column: str) -> bytes:
        return self._prefix.format(column).encode()

    def seal(self, plaintext: str, column: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._bound_to(column))
        return f"{ROW_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, column: str) -> str:
        try:
            version, payload = token.split(".", 1)
            if version != ROW_VERSION:
                raise ValueError(version)
            raw = base64.urlsafe_b64decode(payload)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._bound_to(column)).decode()
        except (ValueError, InvalidTag) as exc:  # another row's, another column's, or tampered
            raise DecryptionFailed(f"{column}: {type(exc).__name__}") from None


class BlindIndex:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the blind-index key must be at least 32 bytes")
        self._key = key

    def of(self, value: str, column: str) -> str:
        message = f"{column}\x00{value.strip().lower()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


class CloudKmsKek:
    """The key-encryption key in Cloud KMS (production): the key material never leaves KMS.

    Wrapping calls KMS once per data key (at startup, when keys are loaded), with CRC32C
    integrity checks on both directions as Google recommends. ``client`` is a
    ``google.cloud.kms.KeyManagementServiceClient``.
    """

    def __init__(self, key_name: str, client: Any | None = None) -> None:
        if client is None:  # imported here: only production loads the KMS client
            kms = importlib.import_module("google.cloud.kms")
            client = kms.KeyManagementServiceClient()
        self.key_name = key_name
        self._client = client

    @property
    def _resource(self) -> str:
        return f"kms-key:{self.key_name.rsplit('/', 1)[-1]}"

    def wrap(self, data_key: bytes) -> bytes:
        cloud_access.record(cloud_access.ENCRYPT, self._resource)
        response = self._client.encrypt(
            request={
                "name": self.key_name,
                "plaintext": data_key,
                "plaintext_crc32c": _crc32c(data_key),
                "additional_authenticated_data": b"data-key",
            }
        )
        if not response.verified_plaintext_crc32c or response.ciphertext_crc32c != _crc32c(response.ciphertext):
            raise DecryptionFailed("Cloud KMS encrypt: the request or response was corrupted in transit")
        return bytes(response.ciphertext)

    def unwrap(self, wrapped: bytes) -> bytes:
        cloud_access.record(cloud_access.DECRYPT, self._resource)
        response = self._client.decrypt(
            request={
                "name": self.key_name,
                "ciphertext": wrapped,
                "ciphertext_crc32c": _crc32c(wrapped),
                "additional_authenticated_data": b"data-key",
            }
        )
        if response.plaintext_crc32c != _crc32c(response.plaintext):
            raise DecryptionFailed("Cloud KMS decrypt: the response was corrupted in transit")
        return bytes(response.plaintext)


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


class PersonalDataVault:
    """What the mapped columns use: encrypt, decrypt and index, with keys reloaded on demand.

    ``load`` returns the field keys (oldest first) and the blind-index key from the key
    store. A ciphertext naming a key this process has not seen (another instance rotated
    keys since it started) reloads them once before giving up.
    """

    def __init__(self, kek: Kek, load: Callable[[], tuple[list[WrappedKey], WrappedKey]]) -> None:
        self._kek = kek
        self._load = load
        self._lock = threading.Lock()
        self._keys: tuple[FieldCipher, BlindIndex] | None = None  # loaded at startup or first use

    def reload(self) -> None:
        with self._lock:
            field_keys, index_key = self._load()
            self._keys = FieldCipher(self._kek, field_keys), BlindIndex(self._kek.unwrap(index_key.wrapped))

    def _loaded(self) -> tuple[FieldCipher, BlindIndex]:
        if self._keys is None:
            self.reload()
        assert self._keys is not None
        return self._keys

    @property
    def current_key_id(self) -> str:
        return self._loaded()[0].current_key_id

    def encrypt(self, plaintext: str, column: str) -> str:
        return self._loaded()[0].encrypt(plaintext, column)

    def decrypt(self, token: str, column: str) -> str:
        try:
            return self._loaded()[0].decrypt(token, column)
        except UnknownDataKey:
            self.reload()
            return self._loaded()[0].decrypt(token, column)

    def index(self, value: str, column: str) -> str:
        return self._loaded()[1].of(value, column)

    # Row keys travel wrapped by the current data key, bound to their row.
    def wrap_row_key(self, key: RowKey, table: str, row_id: str) -> str:
        return self.encrypt(base64.b64encode(key.material).decode(), f"{table}.key.{row_id}")

    def unwrap_row_key(self, wrapped: str, table: str, row_id: str) -> RowKey:
        return RowKey(base64.b64decode(self.decrypt(wrapped, f"{table}.key.{row_id}")), table, row_id)
