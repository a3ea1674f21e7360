"""Waiting for a saga to change, across instances: PostgreSQL LISTEN/NOTIFY.

One thread per process holds a connection that LISTENs on ``saga_changed`` (migration
0006 NOTIFYs it on every change, at commit). Requests waiting on a transaction register
an asyncio event, and the thread sets it from the event loop. A lost connection is
reopened. Waiters are told to look again meanwhile, since a change may have been missed.
"""

from __future__ import annotations

import asyncio
import logging
import select
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
CHANNEL = "saga_changed"


class SagaWatcher:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="saga-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @asynccontextmanager
    async def watching(self, transaction_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when the saga next changes (register, then read, then wait)."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters[transaction_id].add(waiter)
        try:
            yield waiter[1]
        finally:
            with self._lock:
                self._waiters[transaction_id].discard(waiter)
                if not self._waiters[transaction_id]:
                    del self._waiters[transaction_id]

    def _wake(self, transaction_id: str | None) -> None:
        """Wake the waiters on ``transaction_id``, or every waiter (None: changes may have been missed)."""
        with self._lock:
            if transaction_id is None:
                waiters = [w for group in self._waiters.values() for w in group]
            else:
                waiters = list(self._waiters.get(transaction_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

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
