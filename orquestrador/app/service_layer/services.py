"""Use cases behind the HTTP API."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.adapters.participants import Participants
from app.adapters.repository import HistoryEntry, PurchaseFilter, StoredAnswer, StoredSaga
from app.domain import saga
from app.service_layer import access
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.auth import Principal
from mercado_shared.contracts import PaymentType
from mercado_shared.errors import Conflict, NotFound, Unprocessable
from mercado_shared.ids import is_uuid
from mercado_shared.ratelimit import TooManyRequests
from mercado_shared.retries import transaction_retries


@dataclass(frozen=True)
class PurchaseOrder:
    customer_id: str
    vehicle_id: str
    amount: Decimal
    payment_type: PaymentType


def fingerprint(buyer: str, vehicle_id: str, payment_type: PaymentType) -> str:
    """What an Idempotency-Key is bound to: the same key must name the same purchase."""
    return hashlib.sha256(json.dumps([buyer, vehicle_id, payment_type.value]).encode()).hexdigest()


def prepare_purchase(
    participants: Participants, buyer: str, vehicle_id: str, payment_type: PaymentType
) -> PurchaseOrder:
    """Refuse at once what cannot succeed; the saga still decides, under every race."""
    offer = participants.vehicle(vehicle_id) if is_uuid(vehicle_id) else None
    if offer is None:
        raise NotFound("VEHICLE_NOT_FOUND", "no such vehicle")
    if offer.is_reserved or offer.is_sold:
        raise Conflict("VEHICLE_UNAVAILABLE", "this vehicle is reserved or sold")
    funds = participants.customer(buyer) if is_uuid(buyer) else None
    if funds is None or not funds.active:
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")
    available = funds.account_balance if payment_type is PaymentType.CASH else funds.available_credit
    if available < offer.price:
        raise Unprocessable("INSUFFICIENT_FUNDS", f"{payment_type.value} available: {available}, price: {offer.price}")
    return PurchaseOrder(buyer, offer.id, offer.price, payment_type)


@dataclass(frozen=True)
class IdempotencyKey:
    principal: str
    key: str


def _replayed(stored: StoredAnswer | None, fingerprint: str) -> dict[str, object] | None:
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise Unprocessable("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for another request")
    return stored.response


def replay(uow: OrquestradorUnitOfWork, key: IdempotencyKey, fingerprint: str) -> dict[str, object] | None:
    """The first answer to ``key``, if there was one."""
    with uow:
        return _replayed(uow.idempotency.get(key.principal, key.key), fingerprint)


def start_purchase(
    coordinator: Coordinator,
    uow: OrquestradorUnitOfWork,
    order: PurchaseOrder,
    key: IdempotencyKey | None,
    request_fingerprint: str,
    answer: Callable[[saga.SagaState], dict[str, object]],
    max_active: int,
) -> dict[str, object]:
    """Persist the new saga, its first command and (with a key) the answer, in one transaction."""
    decision = saga.start(str(uuid.uuid4()), order.customer_id, order.vehicle_id, order.amount, order.payment_type)
    response = answer(decision.state)
    with uow:
        uow.sagas.lock_customer(order.customer_id)
        if uow.sagas.active_count(order.customer_id) >= max_active:
            raise TooManyRequests(
                "TOO_MANY_ACTIVE_PURCHASES", f"at most {max_active} purchases in progress at once", retry_after=60
            )
        coordinator.begin(uow, decision)
        if key is not None and not uow.idempotency.claim(
            key.principal, key.key, request_fingerprint, decision.state.transaction_id, response
        ):
            uow.rollback()  # a concurrent request with this key won; answer as it did
            replayed = _replayed(uow.idempotency.get(key.principal, key.key), request_fingerprint)
            assert replayed is not None, "the winner's answer is committed before our claim returns"
            return replayed
        uow.audit(
            "purchase.started",
            decision.state.transaction_id,
            customer_id=order.customer_id,
            vehicle_id=order.vehicle_id,
            amount=order.amount,
            payment_type=order.payment_type.value,
        )
        uow.commit()
    return response


def list_purchases(
    uow: OrquestradorUnitOfWork,
    principal: Principal,
    status: saga.SagaStatus | None,
    before: tuple[datetime, str] | None,
    limit: int,
    stuck_at: datetime | None = None,
) -> tuple[list[StoredSaga], int, tuple[datetime, str] | None]:
    """The caller's purchases; staff see everyone's."""
    with uow:
        wanted = PurchaseFilter(
            customer_id=access.listed_customer(principal),
            statuses=frozenset({status}) if status else frozenset(),
            stuck_at=stuck_at,
        )
        page, total = uow.sagas.page(wanted, before, limit + 1)
    more, page = len(page) > limit, page[:limit]
    following = (page[-1].created_at, page[-1].state.transaction_id) if more else None
    return page, total, following


def purchases_in_progress(uow: OrquestradorUnitOfWork, customer_id: str) -> int:
    with uow:
        return uow.sagas.active_count(customer_id)


def purchases_of(uow: OrquestradorUnitOfWork, customer_id: str) -> list[StoredSaga]:
    """Every purchase of the customer, newest first (its LGPD export), page by page."""
    found: list[StoredSaga] = []
    with uow:
        while True:
            before = (found[-1].created_at, found[-1].state.transaction_id) if found else None
            page, _ = uow.sagas.page(PurchaseFilter(customer_id=customer_id), before, 500)
            found.extend(page)
            if len(page) < 500:
                return found


def get_saga(
    uow: OrquestradorUnitOfWork, transaction_id: str, principal: Principal
) -> tuple[StoredSaga, list[HistoryEntry]]:
    with uow:
        stored, history = uow.sagas.get_with_history(transaction_id) or (None, [])
    return access.require_visible(principal, stored), history


def cancel_purchase(
    coordinator: Coordinator, uow: OrquestradorUnitOfWork, transaction_id: str, principal: Principal
) -> saga.SagaState:
    for attempt in transaction_retries(8):  # a reply that changed the saga first: decide again
        with attempt, uow:
            stored = access.require_visible(principal, uow.sagas.get(transaction_id))
            if stored.state.status.is_terminal:
                raise Conflict("NOT_CANCELLABLE", f"the purchase is {stored.state.status.value}")
            decision = coordinator.act(uow, stored, saga.CancelRequested(by_staff=principal.is_staff))
            uow.audit("purchase.cancelled", transaction_id, customer_id=stored.state.customer_id)
            uow.commit()
            return decision.state
    raise AssertionError("transaction_retries raises its last failure")
