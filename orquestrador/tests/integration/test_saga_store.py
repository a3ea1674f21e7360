"""The saga store on real PostgreSQL: optimistic concurrency and an append-only history."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.adapters.repository import SagaRepository
from app.domain import saga
from app.domain.saga import SagaStatus, decide, start
from mercado_shared.contracts import CreditReserved, PaymentType
from mercado_shared.retries import ConcurrencyConflict

SERVICE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(migrated_database: Callable[[Path], str]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(migrated_database(SERVICE_DIR))
    yield engine
    engine.dispose()


def test_two_writers_of_one_version_cannot_both_win(engine: sa.Engine) -> None:
    started = start(str(uuid.uuid4()), "c1", "v1", Decimal("10.00"), PaymentType.CASH).state
    with Session(engine) as session:
        SagaRepository(session).add(started, None)
        session.commit()
    reply = CreditReserved(transaction_id=started.transaction_id, customer_id="c1", amount=Decimal("10.00"))
    with Session(engine) as first, Session(engine) as second:
        a, b = SagaRepository(first).get(started.transaction_id), SagaRepository(second).get(started.transaction_id)
        assert a is not None and b is not None and a.version == b.version == 1
        SagaRepository(first).update(decide(a.state, reply).state, a.version, None)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            SagaRepository(second).update(decide(b.state, reply).state, b.version, None)
    with Session(engine) as session:
        stored = SagaRepository(session).get(started.transaction_id)
        assert stored is not None and (stored.version, stored.state.status) == (2, SagaStatus.IN_PROGRESS)


def test_the_history_cannot_be_rewritten(engine: sa.Engine) -> None:
    started = start(str(uuid.uuid4()), "c1", "v1", Decimal("10.00"), PaymentType.CASH).state
    with Session(engine) as session:
        repo = SagaRepository(session)
        repo.add(started, None)
        repo.append_history(started, "PurchaseRequested", applied=True)
        session.commit()
    for statement in ("UPDATE saga_history SET event = 'forged'", "DELETE FROM saga_history"):
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text(statement))
    with Session(engine) as session:
        assert [h.event for h in SagaRepository(session).history(started.transaction_id)] == ["PurchaseRequested"]


def test_a_saga_is_read_with_its_history_in_order(engine: sa.Engine) -> None:
    started = start(str(uuid.uuid4()), "c1", "v1", Decimal("10.00"), PaymentType.CASH).state
    reply = CreditReserved(transaction_id=started.transaction_id, customer_id="c1", amount=Decimal("10.00"))
    moved = decide(started, reply).state
    with Session(engine) as session:
        repo = SagaRepository(session)
        repo.add(started, None)
        repo.append_history(started, "PurchaseRequested", applied=True)
        repo.update(moved, 1, None)
        repo.append_history(moved, reply.TYPE, applied=True)
        repo.append_history(moved, reply.TYPE, applied=False)  # a duplicate, ignored
        repo.add(start(str(uuid.uuid4()), "c2", "v2", Decimal("5.00"), PaymentType.CASH).state, None)  # another
        session.commit()
    with Session(engine) as session:
        repo = SagaRepository(session)
        found = repo.get_with_history(started.transaction_id)
        assert found is not None
        stored, history = found
        assert stored == repo.get(started.transaction_id)
        assert history == repo.history(started.transaction_id)
        assert [(h.event, h.applied) for h in history] == [
            ("PurchaseRequested", True),
            (reply.TYPE, True),
            (reply.TYPE, False),
        ]
        assert repo.get_with_history(str(uuid.uuid4())) is None
        assert repo.get_with_history("not-a-uuid") is None


def test_a_purchase_is_stored_and_read_back_with_the_definition_it_started_under(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deploy brought version 2; a purchase started under 1 is read back as 1 after it,
    and one started under 2 as 2, through every write."""
    two = saga.SagaDefinition(saga.CURRENT.version + 1, saga.PURCHASE_SAGA)
    monkeypatch.setattr(saga, "DEFINITIONS", {**saga.DEFINITIONS, two.version: two})
    for definition in (saga.CURRENT, two):
        started = start(str(uuid.uuid4()), "c1", "v1", Decimal("10.00"), PaymentType.CASH, definition).state
        with Session(engine) as session:
            SagaRepository(session).add(started, None)
            session.commit()
        reply = CreditReserved(transaction_id=started.transaction_id, customer_id="c1", amount=Decimal("10.00"))
        with Session(engine) as session:
            stored = SagaRepository(session).get(started.transaction_id)
            assert stored is not None and stored.state.definition == definition.version
            SagaRepository(session).update(decide(stored.state, reply).state, stored.version, None)
            session.commit()
        with Session(engine) as session:
            moved = SagaRepository(session).get(started.transaction_id)
            assert moved is not None and (moved.state.definition, moved.state.step) == (
                definition.version,
                "VEHICLE_RESERVATION",
            )
