"""Dispatch of one incoming message to its handler, exactly once in effect.

Handlers are routed by a table keyed on message class. A handler receives the message
and an open unit of work and returns the replies to send (or nothing); the bus records
the message id in the inbox, writes the replies to the outbox and commits, all in one
transaction. A concurrency conflict is retried on a fresh transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from mercado_shared import metrics
from mercado_shared.contracts import Envelope, Message
from mercado_shared.logs import correlation
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)

U = TypeVar("U", bound=SqlUnitOfWork)
Replies = Message | Sequence[Message] | None
Handler = Callable[[Any, U], Replies]


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"


class ConcurrencyConflict(Exception):
    """Someone else changed the aggregate first; the whole handling is retried."""


class NoHandler(LookupError):
    pass


# PostgreSQL's serialization failure and deadlock: safe to retry the transaction.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ConcurrencyConflict):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "pgcode", None) in _RETRYABLE_SQLSTATES
    return False


class MessageBus(Generic[U]):
    def __init__(
        self,
        service: str,
        uow_factory: Callable[[], U],
        handlers: Mapping[type[Message], Handler[U]],
        *,
        attempts: int = 8,
    ) -> None:
        self.service = service
        self.uow_factory = uow_factory
        self.handlers = dict(handlers)
        self.attempts = attempts

    def handle(self, envelope: Envelope) -> Outcome:
        message = envelope.open()
        handler = self.handlers.get(type(message))
        if handler is None:
            raise NoHandler(envelope.type)
        started = time.perf_counter()
        with correlation(envelope.correlation_id):
            for attempt in Retrying(
                retry=retry_if_exception(_is_retryable),
                stop=stop_after_attempt(self.attempts),
                wait=wait_random_exponential(multiplier=0.005, max=0.2),
                reraise=True,
            ):
                with attempt, self.uow_factory() as uow:
                    outcome = self._handle_once(envelope, message, handler, uow)
            log.info(  # inside: the line carries the purchase's correlation id
                "message %s",
                outcome.value,
                extra={"type": envelope.type, "message_id": str(envelope.message_id)},
            )
        metrics.HANDLER_LATENCY.labels(self.service, envelope.type).observe(time.perf_counter() - started)
        return outcome

    def _handle_once(self, envelope: Envelope, message: Message, handler: Handler[U], uow: U) -> Outcome:
        if not uow.claim(envelope):
            return Outcome.DUPLICATE
        replies = handler(message, uow)
        if isinstance(replies, Message):
            replies = [replies]
        for reply in replies or ():
            uow.emit(reply, causation_id=str(envelope.message_id))
        uow.commit()
        return Outcome.HANDLED
