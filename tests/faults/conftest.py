"""The system under faults: short deadlines so that expiry and timeouts happen in seconds,
and the invariant checker run after every scenario."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mercado_shared.devstack import SERVICES, LocalStack, StackConfig, free_port
from mercado_shared.invariants import check
from tests.e2e.conftest import STAFF, Api

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_TTL = 4
SEED = 4


@pytest.fixture(scope="session")
def fault_stack(
    pg_admin_url: str, emulator_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    run_dir = tmp_path_factory.mktemp("faults")
    tag = uuid.uuid4().hex[:8]
    with open(run_dir / "services.log", "ab") as log_file:
        stack = LocalStack(
            StackConfig(
                repo_root=ROOT,
                run_dir=run_dir,
                project_id=f"mv-faults-{tag}",
                database_url=pg_admin_url,
                emulator_host=emulator_host,
                service_ports={s.name: free_port() for s in SERVICES},
                database_prefix=f"faults_{tag}_",
                log_file=log_file,
                env={
                    "ENVIRONMENT": "test",
                    "STAFF_EMAIL": STAFF[0],
                    "STAFF_PASSWORD": STAFF[1],
                    "PAYMENT_CODE_TTL_SECONDS": str(PAYMENT_TTL),
                    "PAYMENT_DEADLINE_GRACE_SECONDS": "1",
                    "SAGA_STEP_TIMEOUT_SECONDS": "1",
                    "SAGA_STEP_TIMEOUT_MAX_SECONDS": "2",
                    "DEADLINE_SWEEP_INTERVAL_SECONDS": "0.2",
                    "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
                    "OUTBOX_RELAY_GRACE_SECONDS": "1",
                },
            )
        )
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def api(fault_stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[Api]:
    with httpx.Client(timeout=30) as client:
        yield Api(fault_stack, client, random.Random(f"{SEED}:{request.node.name}"))
    # Every scenario ends with the invariants holding across the four databases.
    assert check(fault_stack.databases(), settled=True) == []
