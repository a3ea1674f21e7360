"""The system under faults: short deadlines so that expiry and timeouts happen in seconds,
and the invariant checker run after every scenario."""

from __future__ import annotations

import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from mercado_devtools.processes import free_port
from mercado_devtools.stack import LocalStack, StackConfig
from mercado_devtools.testing.browser import real_browser
from mercado_devtools.testing.helpers import QUICK_RETRIES
from mercado_shared.invariants import check
from mercado_shared.registry import SERVICES
from tests.e2e.conftest import STAFF, Api

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_TTL = 8
SEED = 4


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[LocalStack]:
    """Its own PostgreSQL and emulator: the scenarios stop and freeze them."""
    run_dir = Path(tempfile.mkdtemp(prefix="mv-faults-"))
    run_dir.chmod(0o755)  # the postgres user must reach its data folder
    tag = uuid.uuid4().hex[:8]
    try:
        with (
            open(run_dir / "services.log", "ab") as log_file,
            LocalStack(
                StackConfig(
                    repo_root=ROOT,
                    run_dir=run_dir,
                    project_id=f"mv-faults-{tag}",
                    pg_port=free_port(),
                    emulator_port=free_port(),
                    durable=False,
                    service_ports={s.name: free_port() for s in SERVICES},
                    database_prefix=f"faults_{tag}_",
                    log_file=log_file,
                    subscription_policy=QUICK_RETRIES,
                    env={
                        "ENVIRONMENT": "test",
                        "STAFF_EMAIL": STAFF[0],
                        "STAFF_PASSWORD": STAFF[1],
                        # Every test signs in from 127.0.0.1, many times: lift the per-address limits
                        # (their own tests set them low: cliente-service's integration suite).
                        "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
                        "LOGIN_FAILURES_PER_ADDRESS": "1000000",
                        "REGISTRATIONS_PER_ADDRESS": "1000000",
                        "REGISTRATION_CONFLICTS_PER_ADDRESS": "1000000",
                        "PAYMENT_CODE_TTL_SECONDS": str(PAYMENT_TTL),
                        "PAYMENT_REMINDER_BEFORE_SECONDS": "2",  # a reminder 6 s into an 8 s code
                        "PAYMENT_DEADLINE_GRACE_SECONDS": "1",
                        "SAGA_STEP_TIMEOUT_SECONDS": "1",
                        "SAGA_STEP_TIMEOUT_MAX_SECONDS": "2",
                        "DEADLINE_SWEEP_INTERVAL_SECONDS": "0.2",
                        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
                        "OUTBOX_RELAY_GRACE_SECONDS": "1",
                        "PURCHASE_STARTS_PER_WINDOW": "1000",  # the batches' clients retry, legitimately
                    },
                )
            ) as stack,
        ):
            yield stack
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)  # after the stack has stopped


@pytest.fixture
def api(fault_stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[Api]:
    with httpx.Client(timeout=30) as client:
        yield Api(fault_stack, client, random.Random(f"{SEED}:{request.node.name}"))
    # Every scenario ends with the invariants holding across the four databases.
    assert check(fault_stack.databases(), settled=True) == []


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (mercado_devtools.testing.browser)."""
    with real_browser() as launched:
        yield launched
