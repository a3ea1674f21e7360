"""Request and response bodies of the orchestrator."""

from __future__ import annotations

from datetime import datetime

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
