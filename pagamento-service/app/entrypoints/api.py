"""HTTP routes of pagamento-service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from app.entrypoints.schemas import PaymentCodeRead, PaymentCreate, PaymentRead
from app.service_layer import services
from app.service_layer.unit_of_work import PagamentoUnitOfWork
from mercado_shared.auth import CurrentUser
from mercado_shared.clock import Clock

router = APIRouter(tags=["payments"])


def _uow(request: Request) -> PagamentoUnitOfWork:
    uow: PagamentoUnitOfWork = request.app.state.runtime.uow_factory()
    return uow


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


UowDep = Annotated[PagamentoUnitOfWork, Depends(_uow)]
ClockDep = Annotated[Clock, Depends(_clock)]


@router.get(
    "/payment-codes/{code}",
    summary="A payment code and its status (the buyer or staff)",
    response_model=PaymentCodeRead,
    responses={401: {"description": "no valid token"}, 404: {"description": "PAYMENT_CODE_NOT_FOUND"}},
)
def get_payment_code(code: str, principal: CurrentUser, uow: UowDep, clock: ClockDep) -> PaymentCodeRead:
    return PaymentCodeRead.of(services.get_code(uow, code, principal), clock())


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a payment code (the buyer or staff)",
    response_model=PaymentRead,
    responses={
        401: {"description": "no valid token"},
        404: {"description": "PAYMENT_CODE_NOT_FOUND"},
        409: {"description": "PAYMENT_CODE_ALREADY_PAID or PAYMENT_CODE_CANCELLED"},
        410: {"description": "PAYMENT_CODE_EXPIRED"},
    },
)
def create_payment(body: PaymentCreate, principal: CurrentUser, uow: UowDep, clock: ClockDep) -> PaymentRead:
    return PaymentRead.of(services.pay(uow, body.payment_code, body.payment_method, principal, clock))


@router.get(
    "/payments/{payment_id}",
    summary="A payment (the buyer or staff); a refunded one shows REFUNDED",
    response_model=PaymentRead,
    responses={401: {"description": "no valid token"}, 404: {"description": "PAYMENT_NOT_FOUND"}},
)
def get_payment(payment_id: str, principal: CurrentUser, uow: UowDep) -> PaymentRead:
    return PaymentRead.of(services.get_payment(uow, payment_id, principal))
