"""What a service says about itself: liveness, readiness and the contract's /health.

Three routes, three questions (https://cloud.google.com/run/docs/configuring/healthchecks):

- ``GET /livez`` — is the process alive? The event loop answered, so yes. No I/O at all:
  a database outage must not make Cloud Run's liveness probe restart healthy instances.
- ``GET /readyz`` — can it serve? One ``SELECT 1`` under a short timeout. Cloud Run's
  startup probe waits on it, so no traffic reaches an instance that cannot reach its
  database.
- ``GET /health`` — the contract's report for humans and uptime checks: the database
  (the same ping, at most one every ``HEALTH_CACHE_SECONDS`` however often it is asked)
  and Pub/Sub, judged by this instance's own publishing (``PublishHealth``).

None of them calls a Google API: asking Pub/Sub whether a topic exists needs an admin
permission no service account holds, and would spend quota on every probe.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from mercado_shared.db import check_database

OK = "ok"
HEALTH_CACHE_SECONDS = 5.0  # /health pings the database at most this often, however often it is asked
LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"
HEALTH_PATH = "/health"


class DatabaseProbe:
    """``SELECT 1`` under ``timeout`` seconds. Concurrent callers share one ping in flight,
    and a result younger than the caller's ``max_age`` is answered without a new one, so a
    flood of probes costs the database at most one ping at a time."""

    def __init__(self, engine: Engine, timeout: float = 1.0) -> None:
        self.engine = engine
        self.timeout = timeout
        self.pings = 0  # how many reached the database (for tests and metrics)
        self._inflight: asyncio.Future[str] | None = None
        self._last: tuple[float, str] | None = None

    async def status(self, max_age: float = 0.0) -> str:
        if self._last is not None and time.monotonic() - self._last[0] <= max_age:
            return self._last[1]
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._ping())
        try:
            result = await asyncio.wait_for(asyncio.shield(self._inflight), self.timeout)
        except TimeoutError:
            result = f"error: no answer in {self.timeout:g} s"
        self._last = (time.monotonic(), result)
        return result

    async def _ping(self) -> str:
        self.pings += 1
        try:
            await run_in_threadpool(check_database, self.engine)
        except Exception as exc:  # a failed dependency is reported, not raised
            return f"error: {type(exc).__name__}"
        return OK


class PublishHealth:
    """Whether this instance can publish, from its own publishing: the latest attempt's
    outcome, and a publish that has been waiting on the broker longer than ``stall_after``
    seconds. An instance that has not published yet has seen nothing wrong."""

    def __init__(self, stall_after: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after = stall_after
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[int, float] = {}  # attempt → when it started
        self._next = 0
        self._last_failed = False

    def started(self) -> int:
        with self._lock:
            self._next += 1
            self._pending[self._next] = self._clock()
            return self._next

    def finished(self, attempt: int, ok: bool) -> None:
        with self._lock:
            self._pending.pop(attempt, None)
            self._last_failed = not ok

    def status(self) -> str:
        with self._lock:
            oldest = min(self._pending.values(), default=None)
            if oldest is not None and self._clock() - oldest > self.stall_after:
                return f"error: a publish has waited {self._clock() - oldest:.0f} s for the broker"
            return "error: the last publish failed" if self._last_failed else OK
