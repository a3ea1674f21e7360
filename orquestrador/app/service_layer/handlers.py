"""The participants' replies, each fed to the saga through the coordinator."""

from __future__ import annotations

import logging

from app.domain.saga import replies
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.contracts import Command, Event
from mercado_shared.messaging.bus import Handlers

log = logging.getLogger(__name__)


def build_handlers(coordinator: Coordinator) -> Handlers[OrquestradorUnitOfWork]:
    def on_reply(event: Event, uow: OrquestradorUnitOfWork) -> list[Command]:
        decision = coordinator.apply(uow, event.transaction_id, event)
        if decision is None:
            log.warning("reply for an unknown purchase", extra={"event": event.TYPE})
            return []
        return list(decision.commands)

    return {event: on_reply for event in replies()}  # of every version a purchase may run under
