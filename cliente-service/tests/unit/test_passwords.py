"""Password hashing: OWASP's Argon2id parameters, and never more hashes at once than allowed."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from app.adapters.passwords import Argon2PasswordHasher, HashingBusy
from mercado_devtools.testing.helpers import eventually


def test_hashes_are_argon2id_with_owasps_parameters_and_verify() -> None:
    hasher = Argon2PasswordHasher()
    hashed = hasher.hash("a-long-passphrase")
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed
    assert hasher.verify(hashed, "a-long-passphrase") and not hasher.verify(hashed, "another")
    assert not hasher.verify(None, "a-long-passphrase")  # an unknown account: the decoy, refused


def test_a_hash_made_with_older_parameters_still_verifies_and_asks_to_be_redone() -> None:
    old = PasswordHasher().hash("a-long-passphrase")  # argon2-cffi's default: 64 MiB, 3 passes, 4 lanes
    hasher = Argon2PasswordHasher()
    assert hasher.verify(old, "a-long-passphrase")
    assert hasher.needs_rehash(old) and not hasher.needs_rehash(hasher.hash("a-long-passphrase"))


def test_no_more_hashes_run_at_once_than_allowed_and_a_waiter_is_told_to_retry() -> None:
    hasher = Argon2PasswordHasher(concurrency=2, wait_seconds=0.05)
    running, most, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def hold() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=hasher._bounded, args=(hold,)) for _ in range(2)]
    for thread in threads:
        thread.start()

    def both_slots_taken() -> None:
        with lock:
            assert running[0] == 2

    eventually(both_slots_taken, timeout=10)
    with pytest.raises(HashingBusy) as busy:
        hasher.hash("a third one")
    assert busy.value.status_code == 503 and busy.value.headers == {"Retry-After": "1"}
    release.set()
    for thread in threads:
        thread.join()
    assert most[0] == 2
    assert hasher.verify(hasher.hash("after"), "after")  # the slots came back
