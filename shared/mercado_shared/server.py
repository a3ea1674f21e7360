"""The process every service runs: ``python -m mercado_shared.server`` (in ``app/``'s folder).

uvicorn serves the service's ``app.bootstrap:bootstrap`` (called with no arguments: the
settings come from the environment); what this adds is one deadline for the whole
shutdown. Cloud Run sends SIGTERM and, 10 s later, SIGKILL
(https://cloud.google.com/run/docs/container-contract#instance-shutdown). At SIGTERM the
clock starts (``SHUTDOWN``): long polls are answered at once, uvicorn stops accepting and
drains the requests in flight for at most half the budget, and then the application's
shutdown (the outbox's last batch, the sweeps, the saga watcher, the trace flush, the
pools) shares what is left of SHUTDOWN_SECONDS (8 by default: the process has a second
left to exit). Whatever the outbox could not publish in time stays in its table for the
next instance's sweep: nothing is lost.

Environment: PORT (8080), HOST (0.0.0.0), SHUTDOWN_SECONDS (8).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


class ShutdownClock:
    """When the process was told to stop, and by when it must be done."""

    def __init__(self) -> None:
        self.budget = float(os.environ.get("SHUTDOWN_SECONDS", "8"))
        self._signalled: Deadline | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def signalled(self) -> None:
        """SIGTERM: start the clock and tell whoever asked (``on_signal``), once."""
        with self._lock:
            if self._signalled is not None:
                return
            self._signalled = Deadline(self.budget)
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a shutdown callback failed")

    def on_signal(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def deadline(self) -> Deadline:
        """The deadline of the shutdown under way: from SIGTERM if one came, else from now
        (an application stopped in-process, as the tests do)."""
        return self._signalled or Deadline(self.budget)


SHUTDOWN = ShutdownClock()


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        SHUTDOWN.signalled()
        super().handle_exit(sig, frame)


def main() -> None:
    budget = SHUTDOWN.budget
    config = uvicorn.Config(
        "app.bootstrap:bootstrap",
        factory=True,
        host=os.environ.get("HOST", "0.0.0.0"),  # noqa: S104 (a container's port is its only way in)
        port=int(os.environ.get("PORT", "8080")),
        timeout_graceful_shutdown=max(1, int(budget / 2)),  # the other half is the application's
        access_log=False,
        lifespan="on",
    )
    _Server(config).run()


if __name__ == "__main__":
    main()
