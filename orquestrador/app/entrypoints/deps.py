"""What the routes are given: the service's context (built by its bootstrap) and its
units of work, each typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from app.adapters.archive_store import ArchiveStore
from app.adapters.participants import Participants
from app.adapters.saga_watch import SagaWatcher
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.audit import acting_unit_of_work
from mercado_shared.ratelimit import RateLimiter
from mercado_shared.runtime import context_of, new_unit_of_work


@dataclass(frozen=True)
class OrquestradorContext:
    coordinator: Coordinator
    participants: Participants  # cliente- and veiculo-service, asked before a purchase starts
    saga_watcher: SagaWatcher  # wakes the long polls of GET /saga-states/{id}
    purchase_limiter: RateLimiter
    max_active_purchases: int
    max_waiting_requests: int
    archive: ArchiveStore  # where finished purchases go past their retention
    archive_after: timedelta


ContextDep = Annotated[OrquestradorContext, Depends(context_of(OrquestradorContext))]
UowDep = Annotated[OrquestradorUnitOfWork, Depends(new_unit_of_work)]
ActingUowDep = Annotated[OrquestradorUnitOfWork, Depends(acting_unit_of_work)]  # staff's actions are audited
