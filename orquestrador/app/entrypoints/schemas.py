"""Request and response bodies of the orchestrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.adapters.repository import HistoryEntry, StoredSaga
from app.domain.saga import CurrentStep, SagaState, SagaStatus
from mercado_shared.contracts import PaymentType
from mercado_shared.money import Money


class PurchaseRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"vehicle_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22", "payment_type": "cash"}]
        },
    )

    vehicle_id: str = Field(min_length=1, max_length=64)
    payment_type: PaymentType
    customer_id: str | None = Field(default=None, min_length=1, max_length=64, description="staff must name it")


class PurchaseAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                    "status": "STARTED",
                    "current_step": "CREDIT_RESERVATION",
                    "vehicle_price": 45900.1,
                    "payment_type": "cash",
                }
            ]
        }
    )

    transaction_id: str
    status: SagaStatus
    current_step: CurrentStep
    vehicle_price: Money
    payment_type: PaymentType

    @classmethod
    def of(cls, state: SagaState) -> PurchaseAccepted:
        return cls(
            transaction_id=state.transaction_id,
            status=state.status,
            current_step=state.current_step,
            vehicle_price=state.amount,
            payment_type=state.payment_type,
        )


class HistoryItem(BaseModel):
    at: datetime
    status: SagaStatus
    current_step: CurrentStep
    event: str
    applied: bool = Field(description="false: the message came after the saga had moved on and was ignored")


_PURCHASE_SUMMARY_EXAMPLE: JsonDict = {
    "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
    "customer_id": "0b7e4c1a-5d2f-4e8b-9c3a-1f2e3d4c5b6a",
    "vehicle_id": "7ad1761a-de74-48f9-9506-3200836bb801",
    "amount": 45900.1,
    "payment_type": "cash",
    "status": "AWAITING_PAYMENT",
    "current_step": "PAYMENT_PROCESSING",
    "failure_reason": None,
    "payment_code": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
    "payment_expires_at": "2026-11-24T12:30:00Z",
    "created_at": "2026-11-24T12:00:00Z",
    "updated_at": "2026-11-24T12:00:01Z",
}


class PurchaseSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PURCHASE_SUMMARY_EXAMPLE]})

    transaction_id: str
    customer_id: str
    vehicle_id: str
    amount: Money
    payment_type: PaymentType
    status: SagaStatus
    current_step: CurrentStep
    failure_reason: str | None
    payment_code: str | None
    payment_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredSaga) -> PurchaseSummary:
        s = stored.state
        return cls(
            transaction_id=s.transaction_id,
            customer_id=s.customer_id,
            vehicle_id=s.vehicle_id,
            amount=s.amount,
            payment_type=s.payment_type,
            status=s.status,
            current_step=s.current_step,
            failure_reason=s.failure_reason,
            payment_code=s.payment_code,
            payment_expires_at=s.payment_expires_at,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )


class PurchasePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"purchases": [_PURCHASE_SUMMARY_EXAMPLE], "total": 1, "next_cursor": None}]}
    )

    purchases: list[PurchaseSummary]
    total: int
    next_cursor: str | None


class SagaStateRead(PurchaseSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_PURCHASE_SUMMARY_EXAMPLE,
                    "history": [
                        {
                            "at": "2026-11-24T12:00:00Z",
                            "status": "STARTED",
                            "current_step": "CREDIT_RESERVATION",
                            "event": "PurchaseRequested",
                            "applied": True,
                        },
                        {
                            "at": "2026-11-24T12:00:01Z",
                            "status": "AWAITING_PAYMENT",
                            "current_step": "PAYMENT_PROCESSING",
                            "event": "events.payment.code_generated",
                            "applied": True,
                        },
                    ],
                }
            ]
        }
    )

    history: list[HistoryItem]

    @classmethod
    def with_history(cls, stored: StoredSaga, history: list[HistoryEntry]) -> SagaStateRead:
        return cls(
            **PurchaseSummary.of(stored).model_dump(),
            history=[
                HistoryItem(at=h.at, status=h.status, current_step=h.current_step, event=h.event, applied=h.applied)
                for h in history
            ],
        )


# ------------------------------------------------------------------ staff's operations
_TX = "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22"
_OPERATIONS_SUMMARY_EXAMPLE: JsonDict = {
    **_PURCHASE_SUMMARY_EXAMPLE,
    "definition": 1,
    "attempts": 3,
    "deadline_at": "2026-11-24T12:02:00Z",
    "awaiting_compensations": [],
    "stuck": True,
}


class OperationsSummary(PurchaseSummary):
    """A purchase as staff search for it: the buyer's view and how the saga is running."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OPERATIONS_SUMMARY_EXAMPLE]})

    definition: int = Field(description="the version of the saga definition it runs under")
    attempts: int = Field(description="sends of the current step's command (or of the compensations awaited)")
    deadline_at: datetime | None = Field(description="when the saga acts on its own if nothing is heard; null: ended")
    awaiting_compensations: list[str]
    stuck: bool = Field(description="running, and being retried or past its deadline")

    @classmethod
    def of_stored(cls, stored: StoredSaga, now: datetime) -> OperationsSummary:
        s = stored.state
        return cls(
            **PurchaseSummary.of(stored).model_dump(),
            definition=s.definition,
            attempts=s.attempts,
            deadline_at=stored.deadline_at,
            awaiting_compensations=sorted(s.awaiting_compensations),
            stuck=stored.stuck(now),
        )


class OperationsPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchases": [_OPERATIONS_SUMMARY_EXAMPLE],
                    "totals": {s.value: (1 if s is SagaStatus.AWAITING_PAYMENT else 0) for s in SagaStatus},
                    "next_cursor": None,
                }
            ]
        }
    )

    purchases: list[OperationsSummary]
    totals: dict[SagaStatus, int] = Field(description="how many match in each status (every filter but status)")
    next_cursor: str | None


class StepRead(BaseModel):
    name: str
    reported_as: CurrentStep
    kind: str = Field(description="compensatable, pivot (the payment) or retriable")
    command: str | None = Field(description="the command it sends; null: it waits for the buyer")
    compensation: str | None = Field(description="the command that undoes it; null: nothing to undo")
    state: str = Field(
        description="done, current, stopped (where compensation began), pending, "
        "or not reached (the purchase ended before it)"
    )
    compensation_state: str | None = Field(description="awaited, done, or null (not undone)")


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(description="input: what the saga heard (a reply, a cancel, a deadline); action: staff's")
    name: str
    applied: bool | None = None
    status: SagaStatus | None = None
    current_step: CurrentStep | None = None
    commands: list[str] = Field(default=[], description="the commands the input made the saga send")
    attempt: int | None = Field(default=None, description="which send of the step's command those were")
    deadline_at: datetime | None = Field(default=None, description="the deadline the input set")
    actor: str | None = Field(default=None, description="staff member's id (actions)")
    reason: str | None = Field(default=None, description="why, in staff's words (actions)")
    result: dict[str, Any] | None = Field(default=None, description="status, step and commands after (actions)")


class PurchaseTimeline(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchase": _OPERATIONS_SUMMARY_EXAMPLE,
                    "steps": [
                        {
                            "name": "CREDIT_RESERVATION",
                            "reported_as": "CREDIT_RESERVATION",
                            "kind": "compensatable",
                            "command": "commands.credit.reserve",
                            "compensation": "commands.credit.release",
                            "state": "done",
                            "compensation_state": None,
                        }
                    ],
                    "timeline": [
                        {
                            "at": "2026-11-24T12:00:00Z",
                            "kind": "input",
                            "name": "PurchaseRequested",
                            "applied": True,
                            "status": "STARTED",
                            "current_step": "CREDIT_RESERVATION",
                            "commands": ["commands.credit.reserve"],
                            "attempt": 1,
                            "deadline_at": "2026-11-24T12:00:30Z",
                        },
                        {
                            "at": "2026-11-24T12:01:10Z",
                            "kind": "action",
                            "name": "purchase.step_resent",
                            "actor": "5a2f7c1e-8d4b-4f3a-9c6e-2b1d0e9f8a7c",
                            "reason": "cliente-service is back after the incident",
                            "result": {
                                "status": "STARTED",
                                "step": "CREDIT_RESERVATION",
                                "commands": ["commands.credit.reserve"],
                            },
                        },
                    ],
                    "messages": {
                        "orquestrador": {
                            "outbox": [
                                {
                                    "message_id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                                    "topic": "commands.credit.reserve",
                                    "created_at": "2026-11-24T12:00:00Z",
                                    "published_at": "2026-11-24T12:00:00Z",
                                    "publish_attempts": 1,
                                }
                            ],
                            "inbox": [],
                            "dead_letters": [],
                        }
                    },
                    "participants": {
                        "cliente-service": {
                            "records": {"holds": [{"transaction_id": _TX, "amount": "45900.10", "status": "HELD"}]}
                        },
                        "pagamento-service": {"unavailable": "ConnectTimeout"},
                    },
                }
            ]
        }
    )

    purchase: OperationsSummary
    steps: list[StepRead] = Field(description="the saga's definition, as this purchase went through it")
    timeline: list[TimelineEntry]
    messages: dict[str, dict[str, list[dict[str, Any]]]] = Field(
        description="per service: the purchase's messages in its outbox (sent, published or not), inbox "
        "(handled) and dead letters (failed every delivery: held, redriven or discarded)"
    )
    participants: dict[str, dict[str, Any]] = Field(
        description="per service: the records the purchase touched there, or why the service did not answer"
    )


class StaffAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "cliente-service is back after the incident"}]}
    )

    reason: str = Field(min_length=3, max_length=500, description="why: kept in the audit log and the timeline")


class ActionTaken(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"purchase": _OPERATIONS_SUMMARY_EXAMPLE, "commands": ["commands.credit.reserve"]}]
        }
    )

    purchase: OperationsSummary
    commands: list[str] = Field(description="the commands the action sent")
