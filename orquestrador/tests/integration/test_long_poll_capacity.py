"""Long polls on a real server: an instance holds at most MAX_WAITING_REQUESTS of them, so
they never take the slots other requests need, and they are timed apart from ordinary
requests (the latency alert must not see a buyer's 20-second wait)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa

from app.adapters.orm import messaging
from app.bootstrap import bootstrap
from app.config import OrquestradorSettings
from app.domain.deadlines import DeadlinePolicy
from app.domain.saga import start
from app.entrypoints.deps import OrquestradorContext
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_devtools.testing.helpers import eventually, serve
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared import metrics
from mercado_shared.clock import utcnow
from mercado_shared.contracts import PaymentType
from mercado_shared.db import session_factory
from mercado_shared.runtime import app_context

SERVICE_DIR = Path(__file__).resolve().parents[2]


def a_running_purchase(url: str, customer: str) -> str:
    engine = sa.create_engine(url)
    decision = start(str(uuid.uuid4()), customer, str(uuid.uuid4()), Decimal("10.00"), PaymentType.CASH)
    with OrquestradorUnitOfWork(session_factory(engine), messaging, None) as uow:
        Coordinator(DeadlinePolicy(), utcnow).begin(uow, decision)
        uow.commit()
    engine.dispose()
    return decision.state.transaction_id


def observed(histogram: object, route: str) -> float:
    return sum(
        sample.value
        for family in histogram.collect()  # type: ignore[attr-defined]
        for sample in family.samples
        if sample.name.endswith("_count") and sample.labels.get("route") == route
    )


def test_waits_beyond_the_instances_cap_answer_at_once_and_are_timed_apart(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str
) -> None:
    url = migrated_database(SERVICE_DIR)
    tokens = TestTokens()
    buyer = str(uuid.uuid4())
    purchase = a_running_purchase(url, buyer)
    settings = OrquestradorSettings(
        environment="test", database_url=url, pubsub_project_id=project_id, max_waiting_requests=2
    )
    app = bootstrap(settings, key_source=tokens.key_source())
    route = "/saga-states/{transaction_id}"
    latency_before, polls_before = observed(metrics.HTTP_LATENCY, route), observed(metrics.HTTP_LONG_POLL, route)
    headers = tokens.headers(buyer)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http, ThreadPoolExecutor(2) as pool:
        until_completed: dict[str, str | int] = {"until": "COMPLETED", "wait": 20}
        waiting = [
            pool.submit(http.get, f"/saga-states/{purchase}", params=until_completed, headers=headers) for _ in range(2)
        ]
        watcher = app_context(app, OrquestradorContext).saga_watcher

        def both_held() -> None:
            assert watcher.waiting == 2

        eventually(both_held, timeout=10)
        third = http.get(f"/saga-states/{purchase}", params=until_completed, headers=headers)
        assert third.status_code == 200 and third.json()["status"] == "STARTED"  # the state as it is, at once
        assert third.headers["Retry-After"] == "1"
        assert all(not w.done() for w in waiting)  # the two held still wait
        plain = http.get(f"/saga-states/{purchase}", headers=headers)
        assert plain.status_code == 200 and "Retry-After" not in plain.headers
        watcher.release_waiters()  # what SIGTERM does: they answer now, with the state as it is
        assert [w.result(timeout=10).status_code for w in waiting] == [200, 200]
    assert observed(metrics.HTTP_LONG_POLL, route) - polls_before == 2
    assert observed(metrics.HTTP_LATENCY, route) - latency_before == 2  # the third and the plain read


def test_one_caller_cannot_hold_every_wait_and_another_buyer_is_still_served(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str
) -> None:
    url = migrated_database(SERVICE_DIR)
    tokens = TestTokens()
    attacker, buyer = str(uuid.uuid4()), str(uuid.uuid4())
    own, theirs = a_running_purchase(url, attacker), a_running_purchase(url, buyer)
    settings = OrquestradorSettings(
        environment="test", database_url=url, pubsub_project_id=project_id, max_waits_per_caller=2
    )
    app = bootstrap(settings, key_source=tokens.key_source())
    wait: dict[str, str | int] = {"until": "COMPLETED", "wait": 20}
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http, ThreadPoolExecutor(3) as pool:
        held = [
            pool.submit(http.get, f"/saga-states/{own}", params=wait, headers=tokens.headers(attacker))
            for _ in range(2)
        ]
        watcher = app_context(app, OrquestradorContext).saga_watcher
        eventually(lambda: _assert_waiting(watcher, 2), timeout=10)
        refused = http.get(f"/saga-states/{own}", params=wait, headers=tokens.headers(attacker))
        assert refused.status_code == 429 and refused.json()["detail"]["code"] == "TOO_MANY_WAITS"
        assert refused.headers["Retry-After"] == "1"
        # Another buyer waits for their own purchase and hears of its change at once.
        before = http.get(f"/saga-states/{theirs}", headers=tokens.headers(buyer)).json()
        change = {"changed_after": before["updated_at"], "wait": 20}
        waiting = pool.submit(http.get, f"/saga-states/{theirs}", params=change, headers=tokens.headers(buyer))
        eventually(lambda: _assert_waiting(watcher, 3), timeout=10)
        cancelled = http.post(f"/purchase/{theirs}/cancel", headers=tokens.headers(buyer))
        assert cancelled.status_code == 202
        answer = waiting.result(timeout=10)  # well before its 20 s: woken by the change
        assert answer.status_code == 200 and answer.json()["status"] != before["status"]
        watcher.release_waiters()
        assert [h.result(timeout=10).status_code for h in held] == [200, 200]


def _assert_waiting(watcher: object, count: int) -> None:
    assert watcher.waiting == count  # type: ignore[attr-defined]
