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

from mercado_shared import metrics
from mercado_shared.contracts import Envelope, Message
from mercado_shared.logs import correlation
from mercado_shared.messaging.unit_of_work import SqlUnitOfWork
from mercado_shared.retries import transaction_retries

log = logging.getLogger(__name__)

U = TypeVar("U", bound=SqlUnitOfWork)
Replies = Message | Sequence[Message] | None
Handler = Callable[[Any, U], Replies]
# A service's table of handlers, keyed by message class: what its
# ``service_layer.handlers.build_handlers`` returns.
Handlers = Mapping[type[Message], Handler[U]]


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"


class NoHandler(LookupError):
    pass


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
            for attempt in transaction_retries(self.attempts):
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
