import os
from types import SimpleNamespace
from typing import Any

import google_crc32c
import pytest

from app.adapters.crypto import (
    BlindIndex,
    CloudKmsKek,
    DecryptionFailed,
    FieldCipher,
    LocalKek,
    PersonalDataVault,
    RowKey,
    new_data_key,
)


@pytest.fixture
def kek() -> LocalKek:
    return LocalKek(os.urandom(32))


def test_a_value_round_trips_and_its_ciphertext_shows_nothing_of_it(kek: LocalKek) -> None:
    cipher = FieldCipher(kek, [new_data_key(kek, "k1")])
    token = cipher.encrypt("maria.silva@example.com", "customers.email")
    assert "maria" not in token and token.startswith("v1.k1.")
    assert cipher.decrypt(token, "customers.email") == "maria.silva@example.com"
    assert cipher.encrypt("same", "c") != cipher.encrypt("same", "c")  # a fresh nonce each time


def test_a_ciphertext_moved_to_another_column_or_tampered_does_not_decrypt(kek: LocalKek) -> None:
    cipher = FieldCipher(kek, [new_data_key(kek, "k1")])
    token = cipher.encrypt("52998224725", "customers.document")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, "customers.phone")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(flipped, "customers.document")


def test_keys_rotate_the_newest_encrypts_every_held_key_decrypts(kek: LocalKek) -> None:
    old = new_data_key(kek, "k1")
    before = FieldCipher(kek, [old]).encrypt("Maria", "customers.name")
    rotated = FieldCipher(kek, [old, new_data_key(kek, "k2")])
    assert rotated.decrypt(before, "customers.name") == "Maria"
    assert rotated.encrypt("Maria", "customers.name").startswith("v1.k2.")
    with pytest.raises(DecryptionFailed):  # a key no longer held: unreadable
        FieldCipher(kek, [new_data_key(kek, "k3")]).decrypt(before, "customers.name")


def test_data_keys_are_useless_without_their_key_encryption_key(kek: LocalKek) -> None:
    wrapped = new_data_key(kek, "k1")
    with pytest.raises(DecryptionFailed):
        FieldCipher(LocalKek(os.urandom(32)), [wrapped])


def test_the_blind_index_matches_equal_values_only_with_its_key() -> None:
    index = BlindIndex(os.urandom(32))
    assert index.of("Maria@Example.com ", "email") == index.of("maria@example.com", "email")
    assert index.of("maria@example.com", "email") != index.of("maria@example.com", "document")
    assert index.of("maria@example.com", "email") != BlindIndex(os.urandom(32)).of("maria@example.com", "email")


class FakeKms:
    """Cloud KMS cannot run here: this stands in for its encrypt/decrypt calls, checking
    what the adapter sends (key name, AAD, CRC32C) as the real service does."""

    def __init__(self, corrupt: bool = False) -> None:
        self._aead = LocalKek(os.urandom(32))
        self.corrupt = corrupt
        self.calls: list[str] = []

    def encrypt(self, request: dict[str, Any]) -> SimpleNamespace:
        assert request["additional_authenticated_data"] == b"data-key"
        verified = request["plaintext_crc32c"] == google_crc32c.value(request["plaintext"])
        ciphertext = self._aead.wrap(request["plaintext"])
        self.calls.append(request["name"])
        crc = google_crc32c.value(ciphertext) ^ (1 if self.corrupt else 0)
        return SimpleNamespace(ciphertext=ciphertext, ciphertext_crc32c=crc, verified_plaintext_crc32c=verified)

    def decrypt(self, request: dict[str, Any]) -> SimpleNamespace:
        assert request["ciphertext_crc32c"] == google_crc32c.value(request["ciphertext"])
        plaintext = self._aead.unwrap(request["ciphertext"])
        return SimpleNamespace(plaintext=plaintext, plaintext_crc32c=google_crc32c.value(plaintext))


def test_cloud_kms_wraps_data_keys_with_integrity_checks() -> None:
    kms = FakeKms()
    kek = CloudKmsKek("projects/p/locations/l/keyRings/r/cryptoKeys/data-keys", client=kms)
    cipher = FieldCipher(kek, [new_data_key(kek, "k1")])
    assert cipher.decrypt(cipher.encrypt("Maria", "name"), "name") == "Maria"
    assert kms.calls == ["projects/p/locations/l/keyRings/r/cryptoKeys/data-keys"]
    with pytest.raises(DecryptionFailed, match="corrupted"):
        new_data_key(CloudKmsKek("k", client=FakeKms(corrupt=True)), "k2")


def test_a_row_key_opens_only_its_own_rows_fields() -> None:
    ana, bia = "0b7e4c1a-5d2f-4e8b-9c3a-1f2e3d4c5b6a", "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22"
    key = RowKey.new("customers", ana)
    token = key.seal("ana@example.com", "email")
    assert token.startswith("v2.") and "ana" not in token
    assert key.open(token, "email") == "ana@example.com"
    attempts: list[tuple[RowKey, str, str]] = [
        (RowKey(key.material, "customers", bia), token, "email"),  # bound to the row, not only the key
        (key, token, "phone"),  # and to the column
        (RowKey(key.material, "staff", ana), token, "email"),  # and to the table
        (key, token[:-4] + "AAAA", "email"),
        (key, "v1." + token[3:], "email"),
    ]
    for opener, sealed, column in attempts:
        with pytest.raises(DecryptionFailed):
            opener.open(sealed, column)


def test_a_row_key_is_wrapped_for_its_row_only(kek: LocalKek) -> None:
    vault = PersonalDataVault(kek, lambda: ([new_data_key(kek, "f1")], new_data_key(kek, "i1")))
    ana, bia = "0b7e4c1a-5d2f-4e8b-9c3a-1f2e3d4c5b6a", "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22"
    key = RowKey.new("customers", ana)
    wrapped = vault.wrap_row_key(key, "customers", ana)
    assert vault.unwrap_row_key(wrapped, "customers", ana).material == key.material
    with pytest.raises(DecryptionFailed):
        vault.unwrap_row_key(wrapped, "customers", bia)  # a key copied to another customer does not open
