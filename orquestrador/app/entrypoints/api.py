"""HTTP routes of the orchestrator: start, follow and cancel a purchase."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from app.adapters.participants import Participants
from app.entrypoints.schemas import PurchaseAccepted, PurchaseRequest, SagaStateRead
from app.service_layer import services
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.auth import CurrentUser, Principal
from mercado_shared.errors import Forbidden, NotFound, Unprocessable
from mercado_shared.ids import is_uuid

router = APIRouter(tags=["purchases"])


def _uow(request: Request) -> OrquestradorUnitOfWork:
    uow: OrquestradorUnitOfWork = request.app.state.runtime.uow_factory()
    return uow


def _participants(request: Request) -> Participants:
    participants: Participants = request.app.state.participants
    return participants


UowDep = Annotated[OrquestradorUnitOfWork, Depends(_uow)]
ParticipantsDep = Annotated[Participants, Depends(_participants)]


def _buyer(principal: Principal, requested: str | None) -> str:
    """A customer buys for itself; staff must name the customer."""
    if principal.is_staff:
        if requested is None:
            raise Unprocessable("CUSTOMER_REQUIRED", "staff must name the customer_id")
        return requested
    if requested is not None and requested != principal.subject:
        raise Forbidden("FORBIDDEN", "a customer can only buy for itself")
    return principal.subject


@router.post(
    "/purchase",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a purchase: the saga runs asynchronously; follow it at /saga-states/{id}",
    response_model=PurchaseAccepted,
    responses={
        401: {"description": "no valid token"},
        403: {"description": "a customer buying for another"},
        404: {"description": "VEHICLE_NOT_FOUND or CUSTOMER_NOT_FOUND"},
        422: {"description": "invalid body, or CUSTOMER_REQUIRED"},
        503: {"description": "SERVICE_UNAVAILABLE: a participant did not answer"},
    },
)
def purchase(
    body: PurchaseRequest, principal: CurrentUser, request: Request, uow: UowDep, participants: ParticipantsDep
) -> PurchaseAccepted:
    customer_id = _buyer(principal, body.customer_id)
    offer = participants.vehicle(body.vehicle_id) if is_uuid(body.vehicle_id) else None
    if offer is None:
        raise NotFound("VEHICLE_NOT_FOUND", "no such vehicle")
    if principal.is_staff and not (
        is_uuid(customer_id)
        and participants.customer_exists(customer_id, request.headers["authorization"].split(" ", 1)[1])
    ):
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")
    state = services.start_purchase(uow, customer_id, offer.id, offer.price, body.payment_type)
    return PurchaseAccepted.of(state)


@router.get(
    "/saga-states/{transaction_id}",
    summary="A purchase's saga: status, step, payment code and full history (the buyer or staff)",
    response_model=SagaStateRead,
    responses={401: {"description": "no valid token"}, 404: {"description": "PURCHASE_NOT_FOUND"}},
)
def saga_state(transaction_id: str, principal: CurrentUser, uow: UowDep) -> SagaStateRead:
    stored, history = services.get_saga(uow, transaction_id, principal)
    return SagaStateRead.of(stored, history)


@router.post(
    "/purchase/{transaction_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a purchase; whatever was done is undone (refund included)",
    response_model=PurchaseAccepted,
    responses={
        401: {"description": "no valid token"},
        404: {"description": "PURCHASE_NOT_FOUND"},
        409: {"description": "NOT_CANCELLABLE: the purchase already ended"},
    },
)
def cancel(transaction_id: str, principal: CurrentUser, uow: UowDep) -> PurchaseAccepted:
    return PurchaseAccepted.of(services.cancel_purchase(uow, transaction_id, principal))
