"""An instance's life on Cloud Run: it starts before its database answers, and it stops
within the ten seconds between SIGTERM and SIGKILL without losing a message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2

from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api
from tests.faults.test_process_faults import run_batch


def log_lines(path: Path, since: int) -> list[dict[str, object]]:
    with path.open("rb") as f:
        f.seek(since)
        lines = f.read().decode(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_service_started_while_its_database_is_down_waits_for_it(fault_stack: LocalStack) -> None:
    cliente = fault_stack.service("cliente-service")  # its start-up reads its data keys
    postgres = fault_stack.postgres
    assert postgres is not None and cliente.proc is not None
    log = fault_stack.config.run_dir / "services.log"
    postgres.stop()
    try:
        since = log.stat().st_size
        cliente.restart(wait=False)

        def waiting() -> None:
            retries = [
                line
                for line in log_lines(log, since)
                if line.get("service") == "cliente-service" and "does not answer yet" in str(line.get("message"))
            ]
            assert len(retries) >= 2, "cliente-service is not retrying yet"

        eventually(waiting, timeout=60, interval=0.2)
        assert cliente.proc.poll() is None, "cliente-service gave up instead of waiting"
    finally:
        postgres.start(subprocess.DEVNULL)  # type: ignore[arg-type]
    cliente.wait_healthy()


def test_sigterm_under_load_with_the_broker_frozen_ends_within_ten_seconds_and_loses_nothing(
    api: Api, fault_stack: LocalStack
) -> None:
    """Cloud Run sends SIGTERM and, 10 s later, SIGKILL. The worst moment: purchases in
    flight and a broker that does not answer, so the outbox's last batch cannot go out.
    The instance must still be gone in time, and whatever it could not publish must reach
    the broker from the outbox once an instance runs again."""
    orchestrator = fault_stack.service("orquestrador")
    emulator = fault_stack.emulator
    assert emulator.proc is not None and fault_stack.postgres is not None
    timing: dict[str, float] = {}

    def stop_under_load(done: Callable[[], bool]) -> None:
        eventually(lambda: _sagas_at_least(fault_stack, 5), timeout=60, interval=0.1)
        os.killpg(emulator.proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
        try:
            # Wait until the orchestrator holds messages it cannot publish: its sender is
            # stuck on the broker when the signal comes.
            eventually(lambda: _unpublished_at_least(fault_stack, "orquestrador", 1), timeout=60, interval=0.1)
            assert orchestrator.proc is not None
            started = time.monotonic()
            orchestrator.proc.send_signal(signal.SIGTERM)
            timing["exit_code"] = orchestrator.proc.wait(timeout=30)
            timing["seconds"] = time.monotonic() - started
        finally:
            os.killpg(emulator.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
        orchestrator.restart()

    ends = run_batch(api, 30, stop_under_load)
    print(f"\nSIGTERM under load: exit {timing['exit_code']} after {timing['seconds']:.1f} s; {dict(ends)}")
    assert timing["seconds"] < 10, "Cloud Run would have killed it"
    # It ended by itself (uvicorn re-raises the SIGTERM it handled once it is done), not by
    # the SIGKILL that Cloud Run would have sent.
    assert timing["exit_code"] in (0, -signal.SIGTERM)
    eventually(lambda: _nothing_left_in_the_outbox(fault_stack), timeout=60, interval=0.2)


def _sagas_at_least(stack: LocalStack, count: int) -> None:
    with psycopg2.connect(stack.database_urls["orquestrador"].replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM saga_states WHERE status IN ('STARTED', 'IN_PROGRESS', 'AWAITING_PAYMENT')")
        (running,) = cur.fetchone() or (0,)
    assert running >= count, f"{running} purchases running"


def _unpublished_at_least(stack: LocalStack, service: str, count: int) -> None:
    with psycopg2.connect(stack.database_urls[service].replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        (left,) = cur.fetchone() or (0,)
    assert left >= count, f"{left} unpublished"


def _nothing_left_in_the_outbox(stack: LocalStack) -> None:
    for service, url in stack.database_urls.items():
        with psycopg2.connect(url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            (left,) = cur.fetchone() or (0,)
        assert left == 0, f"{service} has {left} messages not yet published"
