import os

import pytest

from app.adapters.crypto import BlindIndex, DecryptionFailed, FieldCipher, LocalKek, new_data_key


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
