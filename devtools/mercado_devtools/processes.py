"""Child processes that die with their parent, free ports, and polling with a deadline.

Every child runs in its own process group and is told to die with its parent
(PR_SET_PDEATHSIG), so neither Ctrl-C, SIGTERM nor a crash of the runner leaves a
process behind.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any


class MissingDependency(RuntimeError):
    pass


# Ports handed out, one file each, shared by every process on the machine: `make test`
# runs suites side by side, and a stack may take seconds between choosing its ports and
# binding them, time enough for another suite to choose the same one. A reservation is
# honoured for an hour: long enough for any stack, short enough not to run out.
RESERVATIONS = Path(tempfile.gettempdir()) / f"mercado-veiculo-ports-{os.getuid()}"
RESERVATION_SECONDS = 3600


def _reserve(port: int) -> bool:
    """Whether this process now holds ``port``'s reservation (nobody else does)."""
    path = RESERVATIONS / str(port)
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            try:
                if time.time() - path.stat().st_mtime < RESERVATION_SECONDS:
                    return False
                path.unlink()  # stale: whoever unlinks it may race us to create it; O_EXCL decides
            except FileNotFoundError:
                pass
    return False


def free_port() -> int:
    """A port nothing listens on and no other process of ours was given, below the kernel's
    ephemeral range (32768 and up here): a port the kernel hands out could be taken,
    before our server binds it, as the source port of any outbound connection."""
    rng = random.SystemRandom()
    RESERVATIONS.mkdir(exist_ok=True)
    for _ in range(500):
        port = rng.randrange(20000, 32000)
        if not _reserve(port):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between 20000 and 32000 (reservations: {RESERVATIONS})")


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass.

    An exception means "not yet", except AssertionError, which gives up at once.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except AssertionError:
            raise  # the condition says waiting is pointless
        except Exception as exc:  # not ready yet
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s ({last!r})")


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    output: IO[Any] | int | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        user=user,
        group=user,
    )


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
        return bool(response.status == 200)


class ServedInThread:
    """An ASGI app served by uvicorn in a thread of this process (the local Pix provider,
    the gateway: `make run`'s stack and the tests), listening once ``start`` returns."""

    def __init__(self, app: Any, host: str, port: int, name: str) -> None:
        self.app, self.host, self.port, self.name = app, host, port, name
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} could not listen on {self.url}")
            threading.Event().wait(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
