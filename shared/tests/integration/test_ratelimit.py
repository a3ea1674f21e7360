"""The token bucket under concurrent takes, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from mercado_shared.ratelimit import _TAKE, RateLimiter, rate_limit_table


@pytest.fixture
def engine(new_database: Callable[[str], str]) -> Iterator[sa.Engine]:
    metadata = sa.MetaData()
    rate_limit_table(metadata)
    engine = sa.create_engine(new_database("ratelimit"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_a_take_that_began_before_another_committed_still_gets_the_token_left(engine: sa.Engine) -> None:
    """Two tokens; two takes. The second's transaction began first (its now() is earlier
    than the bucket's updated_at when it gets the row): it must still get the second token,
    not lose a fraction of it to time running backwards (what made 10 parallel duplicates
    get 2 answers where the limit allows 3)."""
    limiter = RateLimiter(engine, capacity=2, window_seconds=3600)
    with engine.connect() as early:
        early.execute(sa.text("SELECT now()"))  # its transaction, and its now(), begin here
        assert limiter.take("k") is None  # a later transaction takes the first token and commits
        tokens = early.execute(_TAKE, {"key": "k", "capacity": 2, "rate": limiter.rate}).scalar_one()
        early.commit()
    assert tokens >= 0  # the second token, whole
    assert limiter.take("k") is not None  # and none is left
