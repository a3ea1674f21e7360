"""Staff's operations API: the console's only source (docs/operations.md, "The console").

Search purchases, read one's whole story (assembled from every service's records of it),
and act on it: resend the current step's command, cancel with a reason, or record that a
compensation which cannot complete was done by hand. Staff only; every action is audited
with who, when, why and the result.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.adapters.repository import PurchaseFilter
from app.domain.saga import CurrentStep, SagaStatus
from app.entrypoints.deps import ActingUowDep, ContextDep, UowDep
from app.entrypoints.schemas import (
    ActionTaken,
    OperationsPage,
    OperationsSummary,
    PurchaseTimeline,
    StaffAction,
    StepRead,
    TimelineEntry,
)
from app.service_layer import operations
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.auth import StaffUser
from mercado_shared.errors import STAFF_ERRORS, error_responses
from mercado_shared.pagination import Cursor, Limit, decode_time_cursor, encode_time_cursor, in_utc

router = APIRouter(prefix="/operations", tags=["operations"])
ANY_ID = Query(min_length=1, max_length=64)


@router.get(
    "/purchases",
    summary="Staff: search purchases (customer, vehicle, status, failure, step, dates, stuck), with totals per status",
    response_model=OperationsPage,
    responses={**STAFF_ERRORS, **error_responses((422, "INVALID_CURSOR"))},
)
def search_purchases(
    _: StaffUser,
    uow: UowDep,
    context: ContextDep,
    customer_id: Annotated[str | None, ANY_ID] = None,
    vehicle_id: Annotated[str | None, ANY_ID] = None,
    status_filter: Annotated[list[SagaStatus] | None, Query(alias="status", description="repeat for several")] = None,
    failure_reason: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    step: Annotated[CurrentStep | None, Query(description="the current step, as GET /saga-states reports it")] = None,
    created_from: Annotated[AwareDatetime | None, Query(description="started at or after")] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="started before")] = None,
    stuck: Annotated[bool, Query(description="only running ones being retried or past their deadline")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OperationsPage:
    now = context.coordinator.clock()
    wanted = PurchaseFilter(
        customer_id=customer_id,
        vehicle_id=vehicle_id,
        statuses=frozenset(status_filter or ()),
        failure_reason=failure_reason,
        steps=operations.stored_steps(step) if step else frozenset(),
        created_from=in_utc(created_from) if created_from else None,
        created_to=in_utc(created_to) if created_to else None,
        stuck_at=now if stuck else None,
    )
    before = decode_time_cursor(cursor) if cursor is not None else None
    page, totals, following = operations.search(uow, wanted, before, limit)
    return OperationsPage(
        purchases=[OperationsSummary.of_stored(p, now) for p in page],
        totals=totals,
        next_cursor=encode_time_cursor(*following) if following else None,
    )


class Overview(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by_status": {"AWAITING_PAYMENT": 4, "COMPLETED": 120, "CANCELLED": 7},
                    "stuck": 1,
                    "completed_per_hour": [{"hour": "2026-11-24T12:00:00Z", "completed": 9}],
                }
            ]
        }
    )

    by_status: dict[SagaStatus, int]
    stuck: int = Field(description="running, and being retried or past their deadline")
    completed_per_hour: list[dict[str, object]] = Field(description="the last 24 hours, hours with none left out")


@router.get(
    "/overview",
    summary="Staff: purchases by status now, stuck ones, and completions per hour over the last day",
    response_model=Overview,
    responses=STAFF_ERRORS,
)
def overview(_: StaffUser, uow: UowDep, context: ContextDep) -> Overview:
    now = context.coordinator.clock()
    with uow:
        by_status, stuck = uow.sagas.census(now)
        hourly = uow.sagas.completed_per_hour(now - timedelta(hours=24))
    return Overview(
        by_status={SagaStatus(s): n for s, n in by_status.items()},
        stuck=stuck,
        completed_per_hour=[{"hour": at, "completed": n} for at, n in hourly],
    )


@router.get(
    "/purchases/{transaction_id}",
    summary="Staff: one purchase's whole story: its steps, every input and action, its messages and records",
    response_model=PurchaseTimeline,
    responses={**STAFF_ERRORS, **error_responses((404, "PURCHASE_NOT_FOUND"))},
)
def purchase_timeline(transaction_id: str, _: StaffUser, uow: UowDep, context: ContextDep) -> PurchaseTimeline:
    found = operations.timeline(uow, context.participants, transaction_id)
    return PurchaseTimeline(
        purchase=OperationsSummary.of_stored(found.stored, context.coordinator.clock()),
        steps=[StepRead.model_validate(step, from_attributes=True) for step in found.steps],
        timeline=[TimelineEntry.model_validate(entry) for entry in found.entries],
        messages=found.messages,
        participants=found.participants,
    )


def _taken(uow: OrquestradorUnitOfWork, context: ContextDep, transaction_id: str, commands: list[str]) -> ActionTaken:
    with uow:
        stored = uow.sagas.get(transaction_id)
    assert stored is not None, "it was just acted on"
    return ActionTaken(purchase=OperationsSummary.of_stored(stored, context.coordinator.clock()), commands=commands)


@router.post(
    "/purchases/{transaction_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Staff: send the current step's command (or the awaited compensations) again now",
    response_model=ActionTaken,
    responses={
        **STAFF_ERRORS,
        **error_responses((404, "PURCHASE_NOT_FOUND"), (409, "NOTHING_TO_RESEND")),
    },
)
def resend(transaction_id: str, body: StaffAction, _: StaffUser, uow: ActingUowDep, context: ContextDep) -> ActionTaken:
    decision = operations.take(context.coordinator, uow, transaction_id, "resend", body.reason)
    return _taken(uow, context, transaction_id, [c.TYPE for c in decision.commands])


@router.post(
    "/purchases/{transaction_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Staff: cancel with a reason; whatever was done is undone, refund included",
    response_model=ActionTaken,
    responses={**STAFF_ERRORS, **error_responses((404, "PURCHASE_NOT_FOUND"), (409, "NOT_CANCELLABLE"))},
)
def cancel(transaction_id: str, body: StaffAction, _: StaffUser, uow: ActingUowDep, context: ContextDep) -> ActionTaken:
    decision = operations.take(context.coordinator, uow, transaction_id, "cancel", body.reason)
    return _taken(uow, context, transaction_id, [c.TYPE for c in decision.commands])


@router.post(
    "/purchases/{transaction_id}/resolve",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Staff: a compensation that cannot complete was done by hand (say what was done); the purchase ends",
    response_model=ActionTaken,
    responses={**STAFF_ERRORS, **error_responses((404, "PURCHASE_NOT_FOUND"), (409, "NOT_COMPENSATING"))},
)
def resolve(
    transaction_id: str, body: StaffAction, _: StaffUser, uow: ActingUowDep, context: ContextDep
) -> ActionTaken:
    decision = operations.take(context.coordinator, uow, transaction_id, "resolve", body.reason)
    return _taken(uow, context, transaction_id, [c.TYPE for c in decision.commands])
