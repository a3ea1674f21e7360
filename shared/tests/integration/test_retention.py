"""The retention purge against real PostgreSQL: what is past its use goes, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mercado_shared import retention
from mercado_shared.messaging.schema import messaging_tables
from mercado_shared.ratelimit import RateLimiter, rate_limit_table
from mercado_shared.retention import RetentionSweep, inbox_kept, messaging_purges
from mercado_shared.topology import load_topology

DAY = timedelta(days=1)


@pytest.fixture
def engine(new_database: Callable[[str], str]) -> Iterator[sa.Engine]:
    metadata = sa.MetaData()
    messaging_tables(metadata)
    rate_limit_table(metadata)
    engine = sa.create_engine(new_database("retention"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def sweep(engine: sa.Engine, batch: int = 1000) -> RetentionSweep:
    return RetentionSweep(engine, "test", [*messaging_purges(), retention.RATE_LIMITS], batch=batch)


def add_inbox(engine: sa.Engine, age: timedelta) -> str:
    message_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO inbox VALUES (:id, 't', 'c', now() - :age)"), {"id": message_id, "age": age})
    return message_id


def add_outbox(engine: sa.Engine, age: timedelta, published: bool) -> str:
    message_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO outbox (message_id, topic, body, attributes, created_at, published_at) "
                "VALUES (:id, 't', '{}', '{}', now() - :age, CASE WHEN :published THEN now() - :age END)"
            ),
            {"id": message_id, "age": age, "published": published},
        )
    return message_id


def ids(engine: sa.Engine, table: str) -> set[str]:
    column = "key" if table == "rate_limits" else "message_id"
    with engine.connect() as conn:
        return {str(v) for v in conn.scalars(sa.text(f"SELECT {column} FROM {table}"))}  # noqa: S608


def test_the_inbox_outlives_every_redelivery_the_broker_or_an_operator_can_make() -> None:
    topology = load_topology()
    longest = max(s.policy.message_retention_seconds for s in topology.subscriptions())
    assert inbox_kept() > timedelta(seconds=longest + topology.DEAD_LETTER_RETENTION_SECONDS)


def test_old_inbox_rows_and_old_sent_outbox_rows_go_the_rest_stay(engine: sa.Engine) -> None:
    kept = inbox_kept()
    expired_inbox = {add_inbox(engine, kept + DAY) for _ in range(3)}
    young_inbox = {add_inbox(engine, kept - DAY), add_inbox(engine, timedelta(0))}
    sent_long_ago = add_outbox(engine, retention.OUTBOX_KEPT + DAY, published=True)
    never_sent = add_outbox(engine, retention.OUTBOX_KEPT + DAY, published=False)
    sent_lately = add_outbox(engine, retention.OUTBOX_KEPT - DAY, published=True)

    deleted = sweep(engine, batch=2)()  # batches smaller than the work: the loop goes on

    assert deleted["inbox"] == 3 and deleted["outbox"] == 1
    assert ids(engine, "inbox") == young_inbox and not expired_inbox & ids(engine, "inbox")
    assert ids(engine, "outbox") == {never_sent, sent_lately} and sent_long_ago not in ids(engine, "outbox")
    assert sweep(engine)() == {"inbox": 0, "outbox": 0, "dead_letters": 0, "rate_limits": 0}


def add_dead_letter(engine: sa.Engine, state: str, age: timedelta) -> str:
    key = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO dead_letters (id, topic, data, attributes, delivery_attempts, last_push_id, dead_at,"
                " state, settled_at) VALUES (:id, 't', '', '{}', 100, :id, now() - :age, :state,"
                " CASE WHEN :state <> 'HELD' THEN now() - :age END)"
            ),
            {"id": key, "age": age, "state": state},
        )
    return key


def test_settled_dead_letters_go_after_thirty_days_held_ones_never(engine: sa.Engine) -> None:
    old = retention.DEAD_LETTERS_KEPT + DAY
    gone = {add_dead_letter(engine, "REDRIVEN", old), add_dead_letter(engine, "DISCARDED", old)}
    stays = {
        add_dead_letter(engine, "HELD", old * 10),  # waiting for staff, however long
        add_dead_letter(engine, "DISCARDED", retention.DEAD_LETTERS_KEPT - DAY),
    }
    assert sweep(engine)()["dead_letters"] == 2
    with engine.connect() as conn:
        left = {str(v) for v in conn.scalars(sa.text("SELECT id FROM dead_letters"))}
    assert left == stays and not gone & left


def test_a_bucket_goes_only_once_it_would_be_full_again(engine: sa.Engine) -> None:
    limiter = RateLimiter(engine, capacity=2, window_seconds=3600)  # a token back every 30 minutes
    for _ in range(5):
        limiter.take("in-debt")  # 2 allowed, 3 refused: 5 tokens short of full
    limiter.take("full-soon")
    with engine.begin() as conn:
        until_full = conn.scalar(sa.text("SELECT full_at - now() FROM rate_limits WHERE key = 'in-debt'"))
        conn.execute(sa.text("UPDATE rate_limits SET full_at = now() - interval '1 second' WHERE key = 'full-soon'"))
        conn.execute(
            sa.text(
                "INSERT INTO rate_limits (key, tokens, updated_at, full_at) VALUES "
                "('before-full-at', 0, now() - interval '31 days', NULL), ('before-but-recent', 0, now(), NULL)"
            )
        )
    assert timedelta(hours=2, minutes=29) < until_full <= timedelta(hours=2, minutes=30)

    assert sweep(engine)()["rate_limits"] == 2
    assert ids(engine, "rate_limits") == {"in-debt", "before-but-recent"}
    assert limiter.take("in-debt") is not None  # the debt was not forgiven


def test_one_instance_purges_at_a_time(engine: sa.Engine) -> None:
    add_inbox(engine, inbox_kept() + DAY)
    with engine.connect() as other_instance:
        other_instance.execute(sa.text("SELECT pg_advisory_lock(x'72657461'::int)"))
        assert sweep(engine)() == {}
        other_instance.execute(sa.text("SELECT pg_advisory_unlock(x'72657461'::int)"))
    assert sweep(engine)()["inbox"] == 1
