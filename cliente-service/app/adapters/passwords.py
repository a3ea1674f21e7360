"""Password hashing with Argon2id, through argon2-cffi, bounded per process.

Parameters: OWASP's first recommendation for Argon2id, 19 MiB of memory, 2 passes, one
lane (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html).
argon2-cffi's own default (64 MiB × 4 lanes) made 100 concurrent logins take the service
from 124 MB to 2.3 GB resident; an instance has 512 MiB.

Memory is bounded by running at most ``concurrency`` hashes at once per process, on that
many threads of the hasher's own: the 19 MiB each hash allocates then comes from as many
malloc arenas, not from one per request thread (measured: 100 concurrent logins peaked at
619 MB when each request thread hashed itself, since glibc keeps a freed arena's memory;
277 MB with these threads, and 214 MB with the threshold below: make bench, login flood).
A request that cannot start its hash within ``wait_seconds`` is answered 503 with
Retry-After (``HashingBusy``) rather than queued without end: the login and registration
routes are anonymous, so their cost must not depend on how many an attacker sends.

Even so, each of those threads kept its 19 MiB after its hash: glibc raises its mmap
threshold to the size of the first large block freed (its *dynamic* threshold), so later
blocks of that size come from the thread's arena and stay resident. 4 threads held 76 MB
for good (a service idling at 155 MB). ``return_large_blocks`` fixes the threshold at its
128 KiB default, which turns the dynamic threshold off (``man 3 mallopt``, M_MMAP_THRESHOLD):
every Argon2 block is mapped and unmapped, and the memory goes back once hashing stops.
The price is the page faults of mapping 19 MiB afresh for each hash: a wrong password's
p50 went from 33 to 50 ms in `make bench`, and cliente idles at 136 MB instead of 155,
with a login flood peaking at 214 MB instead of 290 (2026-12-01).

Hashes made with
other parameters still verify (they are encoded in the hash) and are rehashed at the next
successful login (``needs_rehash``).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from mercado_shared.errors import BusinessError

T = TypeVar("T")
MEMORY_KIB = 19 * 1024
PASSES = 2
LANES = 1


class HashingBusy(BusinessError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("SERVICE_BUSY", "too many sign-ins at once; retry in a second")
        self.headers = {"Retry-After": "1"}


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def return_large_blocks() -> None:
    """Blocks of 128 KiB or more are mapped, and unmapped when freed, always (glibc only;
    elsewhere nothing changes)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


class Argon2PasswordHasher:
    def __init__(self, concurrency: int = 4, wait_seconds: float = 2.0) -> None:
        return_large_blocks()
        self._hasher = _Argon2(time_cost=PASSES, memory_cost=MEMORY_KIB, parallelism=LANES)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._workers = ThreadPoolExecutor(concurrency, thread_name_prefix="argon2")
        self.concurrency = concurrency
        self.wait_seconds = wait_seconds
        # Compared against when the account does not exist, so timing does not reveal it.
        self._decoy = self._hasher.hash("decoy-password-for-unknown-accounts")

    def _bounded(self, work: Callable[[], T]) -> T:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise HashingBusy()
        try:
            return self._workers.submit(work).result()
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        return self._bounded(lambda: self._hasher.hash(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return self._bounded(check)

    def needs_rehash(self, password_hash: str) -> bool:
        """Made with other parameters than today's (an older default)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
