"""The deadline sweep on real PostgreSQL, with time the test controls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from app.adapters.orm import messaging
from app.domain.deadlines import DeadlinePolicy
from app.domain.saga import SagaStatus, start
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_devtools.testing.helpers import TestClock
from mercado_shared.contracts import PaymentType, ReserveCredit
from mercado_shared.db import session_factory

SERVICE_DIR = Path(__file__).resolve().parents[2]


def test_a_passed_deadline_resends_the_step_once_per_sweep_and_only_when_due(
    migrated_database: Callable[[Path], str],
) -> None:
    engine = sa.create_engine(migrated_database(SERVICE_DIR))
    sessions = session_factory(engine)

    def uow() -> OrquestradorUnitOfWork:
        return OrquestradorUnitOfWork(sessions, messaging, None)

    clock = TestClock()
    coordinator = Coordinator(DeadlinePolicy(step_timeout=timedelta(seconds=30)), clock)
    decision = start(str(uuid.uuid4()), "c1", "v1", Decimal("10.00"), PaymentType.CASH)
    with uow() as u:
        coordinator.begin(u, decision)
        u.commit()

    assert coordinator.sweep(uow) == 0  # not due yet
    clock.advance(seconds=31)
    assert coordinator.sweep(uow) == 1
    assert coordinator.sweep(uow) == 0  # the next deadline is further away: 60 s (backoff)
    with uow() as u:
        stored = u.sagas.get(decision.state.transaction_id)
        assert stored is not None and (stored.state.status, stored.state.attempts) == (SagaStatus.STARTED, 2)
        assert stored.deadline_at == clock() + timedelta(seconds=60)
        with engine.connect() as conn:
            resent = conn.scalar(sa.select(sa.func.count()).where(messaging.outbox.c.topic == ReserveCredit.TYPE))
        assert resent == 2  # begin() sent the step's command; the sweep sent it once again
        assert [h.event for h in u.sagas.history(decision.state.transaction_id)] == [
            "PurchaseRequested",
            "DeadlinePassed",
        ]
    engine.dispose()
