"""Request and response bodies of pagamento-service."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.domain.model import AmountDiscrepancy, CodeStatus, Payment, PaymentCode, PaymentMethod, PaymentStatus
from app.domain.pix import dynamic_br_code
from mercado_shared.money import Amount, Money


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
                    "pix_copia_e_cola": "00020101021226760014br.gov.bcb.pix2554pix.example.com/qr/v2/9d36b84f"
                    "c70b478fb95c12729b90ca255204000053039865802BR5915Mercado Veiculo6009Sao Paulo62070503***6304DE3A",
                }
            ]
        }
    )

    code: str = Field(description="also the txid of its Pix charge")
    transaction_id: str
    amount: Money
    status: CodeStatus
    expires_at: datetime
    pix_copia_e_cola: str | None = Field(
        None,
        description="the charge's BR Code, for any bank app: pasted as is, or read from "
        "/payment-codes/{code}/qr.svg or .png; null for a code without a Pix charge",
    )

    @classmethod
    def of(cls, c: PaymentCode, now: datetime, merchant: tuple[str, str] | None = None) -> PaymentCodeRead:
        """``merchant``: the name and city its BR Code shows (none: no BR Code)."""
        return cls(
            code=c.code,
            transaction_id=c.transaction_id,
            amount=c.amount,
            status=c.current_status(now),
            expires_at=c.expires_at,
            pix_copia_e_cola=br_code(c, merchant) if merchant else None,
        )


def br_code(c: PaymentCode, merchant: tuple[str, str]) -> str | None:
    return dynamic_br_code(c.pix_location, *merchant) if c.pix_location else None


class PaymentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"payment_code": "MVABCDEFGHIJKLMNOPQRSTUVWX", "payment_method": "pix"}]},
    )

    payment_code: str = Field(min_length=1, max_length=64)
    payment_method: PaymentMethod


class PspNotification(BaseModel):
    """The provider's notification that a code was paid, with the amount it took."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"payment_code": "MVABCDEFGHIJKLMNOPQRSTUVWX", "payment_method": "pix", "amount": 45900.1}]
        },
    )

    payment_code: str = Field(min_length=1, max_length=64)
    payment_method: PaymentMethod
    amount: Money


_PIX_EXAMPLE: JsonDict = {
    "endToEndId": "E99999999202612011830a1b2c3d4e5f",
    "txid": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
    "chave": "pix@mercadoveiculo.com.br",
    "valor": "45900.10",
    "horario": "2026-12-01T18:30:00.000Z",
}


class PixReturned(BaseModel):
    """A devolução of a Pix, as the provider notifies it within the Pix."""

    id: str = Field(pattern=r"^[A-Za-z0-9]{1,35}$")
    status: str = Field(max_length=32)


class PixReceived(BaseModel):
    """One Pix received, as the Banco Central's API Pix notifies it (its other fields,
    such as chave, infoPagador or devolucoes, are not read)."""

    model_config = ConfigDict(populate_by_name=True)

    end_to_end_id: str = Field(alias="endToEndId", pattern=r"^[A-Za-z0-9]{32}$")
    txid: str = Field(min_length=1, max_length=35)
    valor: Amount = Field(description="what was paid, in reais, as a string with two decimals")
    horario: datetime
    devolucoes: list[PixReturned] = Field(default_factory=list, max_length=100)


class PixNotification(BaseModel):
    """What the provider POSTs to /webhooks/pix: the Pix received (or, when a webhook is
    registered, Efí's test: {"evento": "teste_webhook"})."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"pix": [_PIX_EXAMPLE]}]})

    pix: list[PixReceived] = Field(default_factory=list, max_length=100)
    evento: str | None = Field(None, max_length=64)


class PixSettled(BaseModel):
    end_to_end_id: str = Field(serialization_alias="endToEndId")
    outcome: str = Field(description="PAID, ALREADY_PAID, or why it settled nothing (an error code)")
    refunded: bool = Field(False, description="a devolução of ours it carries was confirmed: the payment is refunded")


class PixNotificationResult(BaseModel):
    """Each Pix of the notification and what it settled."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"pix": [{"endToEndId": _PIX_EXAMPLE["endToEndId"], "outcome": "PAID"}]}]}
    )

    pix: list[PixSettled]


_DISCREPANCY_EXAMPLE: JsonDict = {
    "id": "0b6f8f5e-2a47-4d3e-9c55-8d1c7e0e5a11",
    "payment_code": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
    "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
    "customer_id": "9d2f7a30-5b1e-4f0a-8c3d-6e4b2a1f0c99",
    "expected_amount": 45900.1,
    "notified_amount": 4590.01,
    "payment_method": "pix",
    "notifications": 1,
    "first_seen_at": "2026-11-24T12:10:00Z",
    "last_seen_at": "2026-11-24T12:10:00Z",
}


class DiscrepancyRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DISCREPANCY_EXAMPLE]})

    id: str
    payment_code: str
    transaction_id: str
    customer_id: str
    expected_amount: Money
    notified_amount: Money
    payment_method: PaymentMethod
    notifications: int = Field(description="how many times the provider sent this notification")
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, d: AmountDiscrepancy) -> DiscrepancyRead:
        return cls(
            id=d.id,
            payment_code=d.payment_code,
            transaction_id=d.transaction_id,
            customer_id=d.customer_id,
            expected_amount=d.expected_amount,
            notified_amount=d.notified_amount,
            payment_method=d.method,
            notifications=d.notifications,
            first_seen_at=d.first_seen_at,
            last_seen_at=d.last_seen_at,
        )


class DiscrepancyPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"discrepancies": [_DISCREPANCY_EXAMPLE], "next_cursor": None}]}
    )

    discrepancies: list[DiscrepancyRead]
    next_cursor: str | None


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


class StuckRefunds(BaseModel):
    """Payments whose devolução the provider refused every time, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payments": [
                        {
                            "id": "f373c58d-c03f-4bda-a736-13d17532c0dc",
                            "payment_code": "MVRV6S3VI62Y7A3DKRM3ABTCNB",
                            "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                            "amount": 45900.1,
                            "status": "REFUNDING",
                            "created_at": "2026-11-24T12:10:00Z",
                        }
                    ]
                }
            ]
        }
    )

    payments: list[PaymentRead]
