"""An instance's life on Cloud Run: it starts before its database answers, and it stops
within the ten seconds between SIGTERM and SIGKILL without losing a message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mercado_shared.devstack import LocalStack
from mercado_shared.testing.helpers import eventually


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
