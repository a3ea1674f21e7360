"""Waiting for a saga to change, across instances: PostgreSQL LISTEN/NOTIFY.

One thread per process holds a connection that LISTENs on ``saga_changed`` (migrations
0006 and 0007 NOTIFY it with ``<transaction id> <status>`` on every change, at commit).
Requests waiting on a transaction register an asyncio event, and the thread sets it from
the event loop: at every change, or, for a waiter that named the statuses it waits for,
only when the saga reaches one of them or ends. A lost connection is reopened. Waiters
are told to look again meanwhile, since a change may have been missed.
"""

from __future__ import annotations

import asyncio
import logging
import select
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from app.domain.saga import SagaStatus
from mercado_shared.ratelimit import TooManyRequests

log = logging.getLogger(__name__)
CHANNEL = "saga_changed"
ENDED = frozenset(status.value for status in SagaStatus if status.is_terminal)


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    statuses: frozenset[str] | None  # None: any change
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, status: str | None) -> bool:
        return self.statuses is None or status is None or status in self.statuses or status in ENDED


class TooManyWaits(TooManyRequests):
    def __init__(self) -> None:
        super().__init__("TOO_MANY_WAITS", "too many waits of yours are open here; retry", 1)


class SagaWatcher:
    def __init__(self, database_url: str, per_caller: int = 1_000_000) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._waiters: dict[str, set[_Waiter]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.per_caller = per_caller
        self._by_caller: dict[str, int] = defaultdict(int)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="saga-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.release_waiters()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def release_waiters(self) -> None:
        """The instance is shutting down: every wait answers now with the state as it is,
        and later ones do not wait (a long poll must not hold up the drain)."""
        self._closing = True
        self._wake(None)

    @property
    def closing(self) -> bool:
        """The instance is shutting down: waits answer with the state as it is."""
        return self._closing

    @property
    def waiting(self) -> int:
        """Requests waiting now."""
        with self._lock:
            return sum(len(group) for group in self._waiters.values())

    @asynccontextmanager
    async def watching(
        self, transaction_id: str, statuses: Collection[str] | None = None, caller: str = ""
    ) -> AsyncIterator[asyncio.Event]:
        """An event set when the saga next changes or, with ``statuses``, next reaches one of
        them or ends (register, then read, then wait; clear it before reading again).
        Raises TooManyWaits if ``caller`` already holds ``per_caller`` waits here."""
        waiter = _Waiter(asyncio.get_running_loop(), frozenset(statuses) if statuses else None)
        if self._closing:
            waiter.event.set()
        with self._lock:
            if self._by_caller[caller] >= self.per_caller:
                raise TooManyWaits()
            self._by_caller[caller] += 1
            self._waiters[transaction_id].add(waiter)
        try:
            yield waiter.event
        finally:
            with self._lock:
                self._by_caller[caller] -= 1
                if not self._by_caller[caller]:
                    del self._by_caller[caller]
                self._waiters[transaction_id].discard(waiter)
                if not self._waiters[transaction_id]:
                    del self._waiters[transaction_id]

    def _wake(self, payload: str | None) -> None:
        """Wake the waiters a change concerns (``<transaction id> <status>``), or every
        waiter (None: changes may have been missed)."""
        with self._lock:
            if payload is None:
                waiters = [w for group in self._waiters.values() for w in group]
            else:
                transaction_id, _, status = payload.partition(" ")
                waiters = [w for w in self._waiters.get(transaction_id, ()) if w.wants(status or None)]
        for waiter in waiters:
            waiter.loop.call_soon_threadsafe(waiter.event.set)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                conn = psycopg2.connect(self._dsn, connect_timeout=5, application_name="orquestrador-saga-watch")
            except psycopg2.Error:
                self._stop.wait(1)
                continue
            try:
                conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                conn.cursor().execute(f"LISTEN {CHANNEL}")
                self._wake(None)  # anything that changed while we were not listening
                while not self._stop.is_set():
                    if select.select([conn], [], [], 1.0)[0]:
                        conn.poll()
                        while conn.notifies:
                            self._wake(conn.notifies.pop(0).payload)
            except (psycopg2.Error, OSError):
                log.warning("saga change feed lost; reconnecting")
                self._wake(None)
                self._stop.wait(1)
            finally:
                conn.close()
