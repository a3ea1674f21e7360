"""The outbox against real PostgreSQL and the real emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mercado_devtools.testing.helpers import FreezableProxy, TopicTap, eventually
from mercado_shared.contracts import CreditReserved
from mercado_shared.db import session_factory
from mercado_shared.messaging.outbox import OutboxRelay
from mercado_shared.messaging.publisher import PubSubPublisher
from mercado_shared.messaging.schema import MessagingTables, messaging_tables
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork

TOPIC = CreditReserved.TYPE


@pytest.fixture
def tables() -> MessagingTables:
    return messaging_tables(sa.MetaData())


@pytest.fixture
def engine(new_database: Callable[[str], str], tables: MessagingTables) -> Iterator[sa.Engine]:
    engine = sa.create_engine(new_database("outbox"))
    tables.outbox.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def publisher(emulator_host: str, project_id: str) -> Iterator[PubSubPublisher]:
    p = PubSubPublisher(project_id)
    yield p
    p.close()


@pytest.fixture
def tap(emulator_host: str, project_id: str) -> Iterator[TopicTap]:
    t = TopicTap(project_id, TOPIC)
    yield t
    t.close()


def reply(n: int) -> CreditReserved:
    return CreditReserved(transaction_id=f"t{n}", customer_id="c1", amount=Decimal("1.00"))


def unpublished(engine: sa.Engine, tables: MessagingTables) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).where(tables.outbox.c.published_at.is_(None))) or 0)


def _assert_all_marked(engine: sa.Engine, tables: MessagingTables) -> None:
    assert unpublished(engine, tables) == 0


def test_a_committed_message_is_published_right_after_commit(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", grace=0)
    with SqlUnitOfWork(session_factory(engine), tables, relay) as uow:
        sent = uow.emit(reply(1))
        uow.commit()
    assert unpublished(engine, tables) == 0  # not started: published inside commit()
    assert eventually(lambda: tap.expect(1)) == [sent]


def test_a_running_relay_sends_committed_messages_without_the_sweep(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    # The sweep waits an hour and leaves rows younger than a minute: only the sender can send.
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", interval=3600, grace=60)
    relay.start()
    try:
        sent = []
        for n in range(5):
            with SqlUnitOfWork(session_factory(engine), tables, relay) as uow:
                sent.append(uow.emit(reply(n)))
                uow.commit()
        received = eventually(lambda: tap.expect(5))
        eventually(lambda: _assert_all_marked(engine, tables))  # so no sweep sends them again
    finally:
        relay.stop()
    assert sorted(e.message_id for e in received) == sorted(e.message_id for e in sent)


def test_stopping_the_relay_sends_what_is_queued_first(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", interval=3600, grace=60, batch_size=5)
    relay.start()
    with SqlUnitOfWork(session_factory(engine), tables, relay) as uow:
        sent = [uow.emit(reply(n)) for n in range(60)]
        uow.commit()  # queued: twelve batches for the sender
    relay.stop()  # a graceful shutdown right after
    assert unpublished(engine, tables) == 0
    assert sorted(e.message_id for e in eventually(lambda: tap.expect(60))) == sorted(e.message_id for e in sent)


def test_what_does_not_fit_the_queue_is_left_to_the_sweep(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", interval=3600, grace=0, queue_limit=0)
    relay.start()
    try:
        with SqlUnitOfWork(session_factory(engine), tables, relay) as uow:
            sent = uow.emit(reply(1))
            uow.commit()  # returns at once: the handler never waits on a backed-up broker
        assert unpublished(engine, tables) == 1
        assert relay.sweep() == 1
    finally:
        relay.stop()
    assert eventually(lambda: tap.expect(1)) == [sent]
    assert unpublished(engine, tables) == 0


def test_a_rolled_back_change_sends_nothing(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", grace=0)
    with SqlUnitOfWork(session_factory(engine), tables, relay) as uow:
        uow.emit(reply(1))  # no commit: the handler failed
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(tables.outbox)) == 0
    assert relay.sweep() == 0


def test_a_crash_between_commit_and_publish_is_recovered_by_the_relay(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher, tap: TopicTap
) -> None:
    # A unit of work with no relay commits exactly as a process that died right after
    # its commit: the state change and its messages are stored, nothing was published.
    with SqlUnitOfWork(session_factory(engine), tables, None) as uow:
        sent = [uow.emit(reply(n)) for n in range(3)]
        uow.commit()
    assert unpublished(engine, tables) == 3

    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", interval=0.05, grace=0)
    relay.start()  # what a restarted instance runs
    try:
        received = eventually(lambda: tap.expect(3))
    finally:
        relay.stop()
    assert sorted(e.message_id for e in received) == sorted(e.message_id for e in sent)  # each once
    assert unpublished(engine, tables) == 0
    assert relay.sweep() == 0  # nothing is published twice by the relay itself


def test_the_sweep_leaves_fresh_rows_to_their_committing_process(
    engine: sa.Engine, tables: MessagingTables, publisher: PubSubPublisher
) -> None:
    with SqlUnitOfWork(session_factory(engine), tables, None) as uow:
        uow.emit(reply(1))
        uow.commit()
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", grace=60)
    assert relay.sweep() == 0 and unpublished(engine, tables) == 1


def test_the_sweep_holds_no_connection_and_no_lock_while_the_broker_does_not_answer(
    engine: sa.Engine, tables: MessagingTables, emulator_host: str, project_id: str, tap: TopicTap
) -> None:
    host, port = emulator_host.rsplit(":", 1)
    broker = FreezableProxy(host, int(port))
    with SqlUnitOfWork(session_factory(engine), tables, None) as uow:
        sent = [uow.emit(reply(n)) for n in range(3)]
        uow.commit()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{broker.port}")
        publisher = PubSubPublisher(project_id, timeout=60)
    relay = OutboxRelay(engine, tables.outbox, publisher, service="test", grace=0)
    broker.freeze()
    with ThreadPoolExecutor(1) as pool:
        sweeping = pool.submit(relay.sweep)
        eventually(lambda: _assert_waiting_on_the_broker(relay))
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with engine.begin() as conn:  # another instance can lock every row now
            locked = conn.execute(
                sa.select(tables.outbox.c.id).with_for_update(nowait=True).where(tables.outbox.c.published_at.is_(None))
            ).all()
            assert len(locked) == 3
        assert OutboxRelay(engine, tables.outbox, publisher, service="test", grace=0).sweep() == 0  # claimed
        broker.thaw()
        assert sweeping.result(timeout=60) == 3
    publisher.close()
    broker.close()
    assert unpublished(engine, tables) == 0
    assert sorted(e.message_id for e in eventually(lambda: tap.expect(3))) == sorted(e.message_id for e in sent)


def _assert_waiting_on_the_broker(relay: OutboxRelay) -> None:
    assert relay.health.status().startswith("error: a publish has waited"), relay.health.status()
