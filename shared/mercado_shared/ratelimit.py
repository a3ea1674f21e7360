"""Rate limits that hold across every instance: token buckets in the service's database.

One atomic upsert refills a bucket for the time passed and takes a token; instances on
Cloud Run share the database, so they share the buckets (an in-memory limiter would give
each instance its own allowance).
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mercado_shared.errors import BusinessError

TABLE = "rate_limits"


def rate_limit_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(TABLE, metadata, *_columns())


def _columns() -> list[Any]:
    return [
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _full_at(),
    ]


def _full_at() -> sa.Column[Any]:
    """When the bucket is full again: from then on it is the same as no row, and the
    retention purge deletes it (mercado_shared.retention). Null on rows written before."""
    return sa.Column("full_at", sa.DateTime(timezone=True), nullable=True)


def create_rate_limit_table(op: Any) -> None:
    op.create_table(TABLE, *[c for c in _columns() if c.name != "full_at"])  # as it was first made


def add_full_at(op: Any) -> None:
    """For the migration that brought the retention purge: expand-only, a nullable column;
    rows of the revision before get it at their next take, or age out by ``updated_at``."""
    op.add_column(TABLE, _full_at())


def drop_full_at(op: Any) -> None:
    op.drop_column(TABLE, "full_at")


class TooManyRequests(BusinessError):
    status_code = 429

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(code, message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


# A bucket holds at most :capacity tokens and refills at :rate tokens a second.
# Every SET expression reads the row as it was, so ``full_at`` repeats the refill.
# now() is when the transaction began: a take that began before another committed sees that
# one's updated_at in its future. Time never runs backwards for a bucket (GREATEST), or that
# take would lose a fraction of a token and be refused with a whole token left.
_REFILLED = (
    "LEAST(:capacity, rate_limits.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - rate_limits.updated_at)) * :rate)"
)
_TAKE = sa.text(
    "INSERT INTO rate_limits (key, tokens, updated_at, full_at) "  # noqa: S608 (constants of this module, no input)
    "VALUES (:key, :capacity - 1, now(), now() + make_interval(secs => 1 / :rate)) "
    f"ON CONFLICT (key) DO UPDATE SET updated_at = GREATEST(now(), rate_limits.updated_at), tokens = {_REFILLED} - 1, "
    f"full_at = now() + make_interval(secs => (:capacity - ({_REFILLED} - 1)) / :rate) "
    "RETURNING tokens"
)
_GIVE_BACK = sa.text("UPDATE rate_limits SET tokens = LEAST(:capacity, tokens + 1) WHERE key = :key")
_PEEK = sa.text(
    "SELECT LEAST(:capacity, tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - updated_at)) * :rate) "
    "FROM rate_limits WHERE key = :key"
)


class RateLimiter:
    """``capacity`` requests at once, refilled at ``capacity`` per ``window_seconds``."""

    def __init__(self, engine: Engine, capacity: int, window_seconds: float) -> None:
        self.engine = engine
        self.capacity = capacity
        self.rate = capacity / window_seconds

    def take(self, key: str) -> float | None:
        """Spend a token; None if allowed, else seconds until one is back."""
        with self.engine.begin() as conn:
            tokens = float(conn.execute(_TAKE, {"key": key, "capacity": self.capacity, "rate": self.rate}).scalar_one())
        return None if tokens >= 0 else -tokens / self.rate

    def give_back(self, key: str) -> None:
        """Return a token taken by ``take`` (what was counted did not happen after all)."""
        with self.engine.begin() as conn:
            conn.execute(_GIVE_BACK, {"key": key, "capacity": self.capacity})

    def wait(self, key: str) -> float | None:
        """Without spending: None if a token is there, else seconds until one is back."""
        with self.engine.connect() as conn:
            tokens = conn.execute(_PEEK, {"key": key, "capacity": self.capacity, "rate": self.rate}).scalar()
        return None if tokens is None or tokens >= 1 else (1 - float(tokens)) / self.rate
