"""Use cases behind the HTTP API."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from app.adapters.repository import HistoryEntry, StoredSaga
from app.domain import saga
from app.service_layer.handlers import apply
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.auth import Principal
from mercado_shared.contracts import PaymentType
from mercado_shared.errors import Conflict, NotFound
from mercado_shared.messaging.bus import ConcurrencyConflict


def start_purchase(
    uow: OrquestradorUnitOfWork, customer_id: str, vehicle_id: str, amount: Decimal, payment_type: PaymentType
) -> saga.SagaState:
    decision = saga.start(str(uuid.uuid4()), customer_id, vehicle_id, amount, payment_type)
    with uow:
        uow.sagas.add(decision.state)
        uow.sagas.record(decision.state, "PurchaseRequested", applied=True)
        for command in decision.commands:
            uow.emit(command)
        uow.commit()
    return decision.state


def _not_found() -> NotFound:
    return NotFound("PURCHASE_NOT_FOUND", "no such purchase")


def get_saga(
    uow: OrquestradorUnitOfWork, transaction_id: str, principal: Principal
) -> tuple[StoredSaga, list[HistoryEntry]]:
    """The buyer or staff; to anyone else the purchase does not exist."""
    with uow:
        stored = uow.sagas.get(transaction_id)
        if stored is None or not (principal.is_staff or stored.state.customer_id == principal.subject):
            raise _not_found()
        return stored, uow.sagas.history(transaction_id)


@retry(
    retry=retry_if_exception_type(ConcurrencyConflict),
    stop=stop_after_attempt(8),
    wait=wait_random_exponential(multiplier=0.005, max=0.2),
    reraise=True,
)
def cancel_purchase(uow: OrquestradorUnitOfWork, transaction_id: str, principal: Principal) -> saga.SagaState:
    with uow:
        stored = uow.sagas.get(transaction_id)
        if stored is None or not (principal.is_staff or stored.state.customer_id == principal.subject):
            raise _not_found()
        if stored.state.status.is_terminal:
            raise Conflict("NOT_CANCELLABLE", f"the purchase is {stored.state.status.value}")
        decision = apply(uow, transaction_id, saga.CancelRequested())
        assert decision is not None
        for command in decision.commands:
            uow.emit(command)
        uow.commit()
        return decision.state
