"""Request and response bodies of pagamento-service."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.domain.model import CodeStatus, Payment, PaymentCode, PaymentMethod, PaymentStatus
from mercado_shared.money import Money


class PaymentCodeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
                    "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                    "amount": 45900.1,
                    "status": "PENDING",
                    "expires_at": "2026-11-24T12:30:00Z",
                }
            ]
        }
    )

    code: str
    transaction_id: str
    amount: Money
    status: CodeStatus
    expires_at: datetime

    @classmethod
    def of(cls, c: PaymentCode, now: datetime) -> PaymentCodeRead:
        return cls(
            code=c.code,
            transaction_id=c.transaction_id,
            amount=c.amount,
            status=c.current_status(now),
            expires_at=c.expires_at,
        )


class PaymentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"payment_code": "MVABCDEFGHIJKLMNOPQRSTUVWX", "payment_method": "pix"}]},
    )

    payment_code: str = Field(min_length=1, max_length=64)
    payment_method: PaymentMethod


class PaymentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "f373c58d-c03f-4bda-a736-13d17532c0dc",
                    "payment_code": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
                    "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                    "amount": 45900.1,
                    "status": "COMPLETED",
                    "created_at": "2026-11-24T12:10:00Z",
                }
            ]
        }
    )

    id: str
    payment_code: str
    transaction_id: str
    amount: Money
    status: PaymentStatus
    created_at: datetime

    @classmethod
    def of(cls, p: Payment) -> PaymentRead:
        assert p.created_at is not None
        return cls(
            id=p.id,
            payment_code=p.payment_code,
            transaction_id=p.transaction_id,
            amount=p.amount,
            status=p.status,
            created_at=p.created_at,
        )
