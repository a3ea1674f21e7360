"""HTTP routes of pagamento-service."""

from __future__ import annotations

import hmac
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.adapters import psp_signature, qr
from app.domain.model import PaymentMethod
from app.domain.pix import RefundState
from app.entrypoints.deps import ActingUowDep, ContextDep, UowDep
from app.entrypoints.schemas import (
    DiscrepancyPage,
    DiscrepancyRead,
    PaymentCodeRead,
    PaymentCreate,
    PaymentRead,
    PixNotification,
    PixNotificationResult,
    PixSettled,
    PspNotification,
    StuckRefunds,
    br_code,
)
from app.service_layer import services
from mercado_shared.auth import CurrentUser, StaffUser
from mercado_shared.errors import STAFF_ERRORS, BusinessError, NotFound, Unprocessable, error_responses
from mercado_shared.pagination import Cursor, Limit, decode_time_cursor, encode_time_cursor
from mercado_shared.platform_auth import internal_caller

router = APIRouter(tags=["payments"])


_PAY_ERRORS = (
    (404, "PAYMENT_CODE_NOT_FOUND"),
    (409, "PAYMENT_CODE_ALREADY_PAID"),
    (409, "PAYMENT_CODE_CANCELLED"),
    (410, "PAYMENT_CODE_EXPIRED"),
)

# The webhook reads its raw body (the signature covers its bytes), so its schema is given
# here; PaymentMethod, which it refers to, is in the components through POST /payments.
_NOTIFICATION_SCHEMA = {
    key: value
    for key, value in PspNotification.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if key != "$defs"
}


@router.get(
    "/payment-codes/{code}",
    summary="A payment code and its status (the buyer or staff)",
    response_model=PaymentCodeRead,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (404, "PAYMENT_CODE_NOT_FOUND")),
)
def get_payment_code(code: str, principal: CurrentUser, uow: UowDep, context: ContextDep) -> PaymentCodeRead:
    return PaymentCodeRead.of(services.get_code(uow, code, principal), context.clock(), context.merchant)


_QR_FORMATS = {"svg": ("image/svg+xml", qr.svg), "png": ("image/png", qr.png)}


@router.get(
    "/payment-codes/{code}/qr.{image_format}",
    summary="A payment code's Pix QR (the buyer or staff): its BR Code as an SVG or PNG image",
    description="The same BR Code as pix_copia_e_cola; it never changes, so it may be cached. "
    "A code without a Pix charge has no QR: 404 PAYMENT_CODE_NOT_FOUND.",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "the QR image"},
        **error_responses((401, "NOT_AUTHENTICATED"), (404, "PAYMENT_CODE_NOT_FOUND")),
    },
)
def get_payment_code_qr(
    code: str, image_format: Literal["svg", "png"], principal: CurrentUser, uow: UowDep, context: ContextDep
) -> Response:
    payload = br_code(services.get_code(uow, code, principal), context.merchant)
    if payload is None:
        raise NotFound("PAYMENT_CODE_NOT_FOUND", "this code has no Pix charge")
    media_type, render = _QR_FORMATS[image_format]
    return Response(render(payload), media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay a payment code (the buyer or staff)",
    response_model=PaymentRead,
    responses=error_responses((401, "NOT_AUTHENTICATED"), *_PAY_ERRORS),
)
def create_payment(body: PaymentCreate, principal: CurrentUser, uow: ActingUowDep, context: ContextDep) -> PaymentRead:
    payment, _ = services.pay(uow, body.payment_code, body.payment_method, context.clock, principal)
    return PaymentRead.of(payment)


@router.post(
    "/webhooks/psp",
    status_code=status.HTTP_201_CREATED,
    summary="The payment provider's notification that a code was paid (HMAC-SHA256 signed)",
    description=(
        "Header `X-PSP-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>`, within "
        "PSP_WEBHOOK_TOLERANCE_SECONDS of now. The same effect as POST /payments; a repeated "
        "notification of a paid code answers 200 with that payment. An `amount` other than the "
        "code's pays nothing: 422 AMOUNT_MISMATCH, and the notification is kept for staff "
        "(GET /payment-discrepancies)."
    ),
    response_model=PaymentRead,
    responses={
        200: {"description": "already paid: the payment, again", "model": PaymentRead},
        **error_responses((401, "INVALID_SIGNATURE"), (422, "INVALID_BODY"), (422, "AMOUNT_MISMATCH"), *_PAY_ERRORS),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _NOTIFICATION_SCHEMA}},
        }
    },
)
async def psp_webhook(request: Request, uow: UowDep, context: ContextDep) -> Response:
    body = await request.body()
    clock, settings = context.clock, context.settings
    try:
        psp_signature.verify(
            settings.psp_webhook_secret.get_secret_value().encode(),
            body,
            request.headers.get(psp_signature.HEADER),
            settings.psp_webhook_tolerance_seconds,
            now=clock().timestamp(),
        )
    except psp_signature.InvalidSignature:
        raise BusinessError("INVALID_SIGNATURE", "the notification's signature is not valid", status_code=401) from None
    try:
        notification = PspNotification.model_validate_json(body)
    except ValidationError:
        raise Unprocessable("INVALID_BODY", "the notification is not a payment of a code") from None
    payment, created = await run_in_threadpool(
        services.pay,
        uow,
        notification.payment_code,
        notification.payment_method,
        clock,
        None,
        notification.amount,
    )
    return Response(
        PaymentRead.of(payment).model_dump_json(),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.post(
    "/webhooks/pix",
    summary="The Pix provider's notification of Pix received, as the Banco Central's API Pix shapes it",
    description=(
        "What Efí Bank POSTs to the webhook registered for the shop's key (PUT /v2/webhook/{chave}), "
        "without mutual TLS: the registered URL carries PIX_WEBHOOK_SECRET, "
        "`/webhooks/pix?hmac=<secret>&ignorar=`, and Efí appends `/pix` into `ignorar` "
        "(https://dev.efipay.com.br/docs/api-pix/webhooks). Each Pix pays the code whose txid it names, "
        "once per endToEndId; a `valor` other than the charge's pays nothing and is kept for staff "
        "(GET /payment-discrepancies). Answers 200 with each Pix's outcome once every one is recorded, "
        "so the provider stops repeating it; 5xx makes it repeat."
    ),
    response_model=PixNotificationResult,
    response_model_by_alias=True,
    responses=error_responses((401, "INVALID_SIGNATURE"), (422, "INVALID_BODY")),
)
async def pix_webhook(request: Request, uow: UowDep, context: ContextDep) -> PixNotificationResult:
    expected = context.settings.pix_webhook_secret.get_secret_value().encode()
    given = request.query_params.get("hmac", "").encode()
    if not hmac.compare_digest(expected, given):
        raise BusinessError(
            "INVALID_SIGNATURE", "the notification does not carry the webhook's secret", status_code=401
        )
    try:
        notification = PixNotification.model_validate_json(await request.body())
    except ValidationError:
        raise Unprocessable("INVALID_BODY", "the notification is not a list of Pix received") from None
    settled = []
    for received in notification.pix:
        try:
            _, created = await run_in_threadpool(
                services.pay,
                uow,
                received.txid,
                PaymentMethod.PIX,
                context.clock,
                None,
                received.valor,
                received.end_to_end_id,
            )
            outcome = "PAID" if created else "ALREADY_PAID"
        except BusinessError as refused:  # recorded (AMOUNT_MISMATCH) or nothing to pay: no repeat helps
            outcome = refused.code
        refunded = False
        for returned in received.devolucoes:
            if returned.status == RefundState.RETURNED:
                refunded |= await run_in_threadpool(
                    services.refund_returned, uow, received.end_to_end_id, returned.id, context.clock
                )
        settled.append(PixSettled(end_to_end_id=received.end_to_end_id, outcome=outcome, refunded=refunded))
    return PixNotificationResult(pix=settled)


@router.get(
    "/payments/{payment_id}",
    summary="A payment (the buyer or staff); a refunded one shows REFUNDED",
    response_model=PaymentRead,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (404, "PAYMENT_NOT_FOUND")),
)
def get_payment(payment_id: str, principal: CurrentUser, uow: UowDep) -> PaymentRead:
    return PaymentRead.of(services.get_payment(uow, payment_id, principal))


@router.get(
    "/payment-refunds/stuck",
    summary="Payments whose devolução the provider refused every time: staff return them by hand (staff)",
    response_model=StuckRefunds,
    responses=STAFF_ERRORS,
)
def list_stuck_refunds(_: StaffUser, uow: UowDep) -> StuckRefunds:
    return StuckRefunds(payments=[PaymentRead.of(p) for p in services.refunds_needing_a_person(uow)])


@router.post(
    "/payments/{payment_id}/returned",
    summary="Staff returned a stuck refund by hand: the payment is refunded and its purchase's undoing goes on",
    response_model=PaymentRead,
    responses={**STAFF_ERRORS, **error_responses((404, "PAYMENT_NOT_FOUND"), (409, "REFUND_NOT_STUCK"))},
)
def return_by_hand(payment_id: str, _: StaffUser, uow: ActingUowDep, context: ContextDep) -> PaymentRead:
    return PaymentRead.of(services.returned_by_hand(uow, payment_id, context.clock))


@router.get(
    "/payment-discrepancies",
    summary="Notifications the provider sent for another amount than the code's, newest first (staff)",
    description=(
        "Each paid nothing here; the money moved at the provider, so staff settle it there. "
        "One entry per code and amount; `notifications` counts the provider's repeats."
    ),
    response_model=DiscrepancyPage,
    responses={**STAFF_ERRORS, **error_responses((422, "INVALID_CURSOR"))},
)
def list_discrepancies(_: StaffUser, uow: UowDep, limit: Limit = 50, cursor: Cursor = None) -> DiscrepancyPage:
    before = decode_time_cursor(cursor) if cursor is not None else None
    page, following = services.list_discrepancies(uow, before, limit)
    return DiscrepancyPage(
        discrepancies=[DiscrepancyRead.of(d) for d in page],
        next_cursor=encode_time_cursor(*following) if following else None,
    )


@router.get(
    "/internal/customers/{customer_id}/payments",
    include_in_schema=False,
    dependencies=[Depends(internal_caller)],
)
def held_for_customer(customer_id: str, uow: UowDep, context: ContextDep) -> dict[str, list[dict[str, object]]]:
    """For cliente-service's LGPD export (as cliente-service): the customer's codes and payments."""
    codes, payments = services.held_for_customer(uow, customer_id)
    now = context.clock()
    return {
        "payment_codes": [PaymentCodeRead.of(c, now).model_dump(mode="json") for c in codes],
        "payments": [PaymentRead.of(p).model_dump(mode="json") for p in payments],
    }
