"""The one retry policy of a transaction that lost a race.

Two writers of one row: the loser's version check fails (``ConcurrencyConflict``), or
PostgreSQL aborts it (serialization failure, deadlock). The whole transaction is run
again, a few times, after a short random wait (jitter spreads the racers apart). The
message bus, the deadline sweep and a cancel use this policy, each with its own bound.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential


class ConcurrencyConflict(Exception):
    """Someone else changed the aggregate first; the whole transaction is retried."""


# PostgreSQL's serialization failure and deadlock: safe to retry the transaction.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def lost_a_race(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrencyConflict):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "pgcode", None) in _RETRYABLE_SQLSTATES
    return False


def transaction_retries(attempts: int) -> Retrying:
    """``for attempt in transaction_retries(n): with attempt, uow: ...``: the last failure
    is raised as it was."""
    return Retrying(
        retry=retry_if_exception(lost_a_race),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.005, max=0.2),
        reraise=True,
    )
