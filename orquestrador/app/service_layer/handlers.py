"""Replies from the participants, routed to the saga.

Every reply goes through the same three lines: load the saga, ``decide``, store the
decision (a version check guards against a concurrent writer) and its history entry;
the bus then sends the decision's commands through the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from app.domain.saga import PURCHASE_SAGA, Decision, SagaInput, decide, input_name
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.contracts import Command, Event, Message
from mercado_shared.messaging.bus import Handler

log = logging.getLogger(__name__)


def apply(uow: OrquestradorUnitOfWork, transaction_id: str, message: SagaInput) -> Decision | None:
    """Decide on ``message`` and store the outcome in ``uow``; None if no such saga."""
    stored = uow.sagas.get(transaction_id)
    if stored is None:
        return None
    decision = decide(stored.state, message)
    if decision.applied:
        uow.sagas.update(decision.state, stored.version)
    else:
        log.info("reply ignored: the saga has moved on", extra={"event": input_name(message)})
    uow.sagas.record(decision.state, input_name(message), applied=decision.applied)
    return decision


def on_reply(event: Event, uow: OrquestradorUnitOfWork) -> list[Command]:
    decision = apply(uow, event.transaction_id, event)
    if decision is None:
        log.warning("reply for an unknown purchase", extra={"event": event.TYPE})
        return []
    return list(decision.commands)


def _replies() -> set[type[Event]]:
    found: set[type[Event]] = set()
    for step in PURCHASE_SAGA:
        found.update(e for e in (step.success, step.failure, step.compensated_by) if e is not None)
    return found


HANDLERS: Mapping[type[Message], Handler[OrquestradorUnitOfWork]] = {event: on_reply for event in _replies()}
