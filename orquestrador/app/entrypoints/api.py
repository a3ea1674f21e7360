"""HTTP routes of the orchestrator: start, follow, list and cancel purchases."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from app.adapters.repository import HistoryEntry, StoredSaga
from app.domain.saga import SagaStatus
from app.entrypoints.deps import ActingUowDep, ContextDep, UowDep
from app.entrypoints.schemas import PurchaseAccepted, PurchasePage, PurchaseRequest, PurchaseSummary, SagaStateRead
from app.service_layer import access, archive, services
from mercado_shared.auth import CurrentUser
from mercado_shared.errors import error_responses
from mercado_shared.middleware import LONG_POLL
from mercado_shared.pagination import Cursor, Limit, decode_time_cursor, encode_time_cursor
from mercado_shared.platform_auth import internal_caller
from mercado_shared.ratelimit import TooManyRequests
from mercado_shared.runtime import runtime_of

router = APIRouter(tags=["purchases"])
MAX_WAIT_SECONDS = 25  # under Cloud Run's 30 s request timeout


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Send the same key again to get the first answer again, never a second purchase",
    ),
]


@router.post(
    "/purchase",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a purchase; the saga runs asynchronously: follow it at /saga-states/{transaction_id}",
    response_model=PurchaseAccepted,
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"),
        (403, "FORBIDDEN"),
        (404, "VEHICLE_NOT_FOUND"),
        (404, "CUSTOMER_NOT_FOUND"),
        (409, "VEHICLE_UNAVAILABLE"),
        (422, "INSUFFICIENT_FUNDS"),
        (422, "CUSTOMER_REQUIRED"),
        (422, "IDEMPOTENCY_KEY_REUSED"),
        (429, "TOO_MANY_REQUESTS"),
        (429, "TOO_MANY_ACTIVE_PURCHASES"),
        (503, "SERVICE_UNAVAILABLE"),
    ),
)
def purchase(
    body: PurchaseRequest,
    principal: CurrentUser,
    uow: ActingUowDep,
    context: ContextDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    buyer = access.buyer_of_new_purchase(principal, body.customer_id)
    request_fingerprint = services.fingerprint(buyer, body.vehicle_id, body.payment_type)
    key = services.IdempotencyKey(principal.subject, idempotency_key) if idempotency_key else None
    if key is not None:
        # Answered before the checks: after the first answer, its vehicle is reserved.
        replayed = services.replay(uow, key, request_fingerprint)
        if replayed is not None:
            return _accepted(replayed)
    wait = context.purchase_limiter.take(f"purchase:{buyer}")
    if wait is not None:
        raise TooManyRequests("TOO_MANY_REQUESTS", "too many purchases started; wait", wait)
    order = services.prepare_purchase(context.participants, buyer, body.vehicle_id, body.payment_type)
    answer = services.start_purchase(
        context.coordinator,
        uow,
        order,
        key,
        request_fingerprint,
        lambda state: PurchaseAccepted.of(state).model_dump(mode="json"),
        context.max_active_purchases,
    )
    return _accepted(answer)


def _accepted(answer: dict[str, object]) -> Response:
    return Response(
        PurchaseAccepted.model_validate(answer).model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED,
        media_type="application/json",
    )


@router.get(
    "/purchases",
    summary="The caller's purchases, newest first; staff see all; filter by status, or stuck ones",
    response_model=PurchasePage,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (422, "INVALID_CURSOR")),
)
def list_purchases(
    principal: CurrentUser,
    uow: UowDep,
    context: ContextDep,
    status_filter: Annotated[SagaStatus | None, Query(alias="status")] = None,
    stuck: Annotated[
        bool, Query(description="only purchases still running that are being retried or past their deadline")
    ] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PurchasePage:
    before = None
    if cursor is not None:
        before = decode_time_cursor(cursor)
    stuck_at = context.coordinator.clock() if stuck else None
    page, total, following = services.list_purchases(uow, principal, status_filter, before, limit, stuck_at)
    next_cursor = encode_time_cursor(*following) if following else None
    return PurchasePage(purchases=[PurchaseSummary.of(p) for p in page], total=total, next_cursor=next_cursor)


@router.get(
    "/saga-states/{transaction_id}",
    summary="A purchase's saga: status, step, payment code and full history (the buyer or staff)",
    response_model=SagaStateRead,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (404, "PURCHASE_NOT_FOUND"), (429, "TOO_MANY_WAITS")),
)
async def saga_state(
    transaction_id: str,
    principal: CurrentUser,
    uow: UowDep,
    context: ContextDep,
    request: Request,
    response: Response,
    changed_after: Annotated[
        AwareDatetime | None,
        Query(description="the `updated_at` you have: with `wait`, answer once the purchase has moved past it"),
    ] = None,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to hold the request for a change (long poll)")
    ] = 0,
    until: Annotated[
        list[SagaStatus] | None,
        Query(
            description="with `wait`: answer once the purchase is in one of these statuses or has ended, "
            "however many steps that takes (repeat the parameter for several)"
        ),
    ] = None,
) -> SagaStateRead:
    """A long poll with ``wait`` and ``changed_after`` or ``until``: the answer comes the
    moment the saga has moved past ``changed_after`` and is in an ``until`` status (either
    condition alone is enough; an ended purchase answers at once), else after ``wait``
    seconds with the state as it is. A frontend follows a purchase with one request per
    step, or one request from "started" to "here is your payment code"."""
    wanted = frozenset(until or ())

    def read() -> tuple[StoredSaga, list[HistoryEntry]]:
        return services.get_saga(uow, transaction_id, principal)

    def settled(stored: StoredSaga) -> bool:
        if stored.state.status.is_terminal:
            return True
        moved = changed_after is None or stored.updated_at > changed_after
        return moved and (not wanted or stored.state.status in wanted)

    watcher = context.saga_watcher
    if wait > 0 and watcher.waiting >= context.max_waiting_requests:
        response.headers["Retry-After"] = "1"  # this instance holds as many waits as it may
        wait = 0
    if wait == 0 or (changed_after is None and not wanted):
        return SagaStateRead.with_history(*await run_in_threadpool(read))
    request.scope[LONG_POLL] = True  # timed apart from ordinary requests (mercado_shared.middleware)
    deadline = asyncio.get_running_loop().time() + wait
    async with watcher.watching(transaction_id, wanted or None, caller=principal.subject) as changed:
        stored, history = await run_in_threadpool(read)  # read after registering: no change slips by
        while not settled(stored) and not watcher.closing:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(changed.wait(), timeout=max(remaining, 0))
            except TimeoutError:
                break
            changed.clear()  # before reading: a change after this read sets it again
            stored, history = await run_in_threadpool(read)
    return SagaStateRead.with_history(stored, history)


@router.post(
    "/purchase/{transaction_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a purchase (the buyer or staff); whatever was done is undone, refund included",
    response_model=PurchaseAccepted,
    responses=error_responses((401, "NOT_AUTHENTICATED"), (404, "PURCHASE_NOT_FOUND"), (409, "NOT_CANCELLABLE")),
)
def cancel(transaction_id: str, principal: CurrentUser, uow: ActingUowDep, context: ContextDep) -> PurchaseAccepted:
    return PurchaseAccepted.of(services.cancel_purchase(context.coordinator, uow, transaction_id, principal))


@router.post("/internal/deadlines/sweep", include_in_schema=False, dependencies=[Depends(internal_caller)])
def sweep_deadlines(request: Request, context: ContextDep) -> dict[str, int]:
    """For Cloud Scheduler, where instances scale to zero: act on every passed deadline."""
    return {"handled": context.coordinator.sweep(runtime_of(request).uow_factory)}


@router.post("/internal/purchases/archive", include_in_schema=False, dependencies=[Depends(internal_caller)])
def archive_purchases(request: Request, context: ContextDep) -> dict[str, object]:
    """For Cloud Scheduler (and `make archive-purchases`): finished purchases past their
    retention to the archive bucket, then out of the database (app.service_layer.archive)."""
    report = archive.archive_finished(
        runtime_of(request).uow_factory, context.archive, context.coordinator.clock(), context.archive_after
    )
    return {"archived": report.archived, "objects": report.objects, "purged": report.purged, "more": report.more}


@router.get(
    "/internal/customers/{customer_id}/purchases-in-progress",
    include_in_schema=False,
    dependencies=[Depends(internal_caller)],
)
def purchases_in_progress(customer_id: str, uow: UowDep) -> dict[str, int]:
    """For cliente-service before an erasure: the customer's purchases accepted and not ended
    (a purchase is in progress from its 202 until it ends, after the capture included)."""
    return {"in_progress": services.purchases_in_progress(uow, customer_id)}


@router.get(
    "/internal/customers/{customer_id}/purchases",
    include_in_schema=False,
    dependencies=[Depends(internal_caller)],
)
def purchases_of(customer_id: str, uow: UowDep) -> dict[str, list[dict[str, object]]]:
    """For cliente-service's LGPD export (as cliente-service): every purchase of the customer."""
    purchases = services.purchases_of(uow, customer_id)
    return {"purchases": [PurchaseSummary.of(s).model_dump(mode="json") for s in purchases]}
