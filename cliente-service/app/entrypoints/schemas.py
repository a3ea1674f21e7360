"""Request and response bodies of cliente-service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints
from pydantic.config import JsonDict

from app.domain.cpf import InvalidCpf, mask_cpf, normalize_cpf
from app.domain.masks import mask_email, mask_phone
from app.domain.model import Customer, CustomerStatus, Hold
from mercado_shared.money import Money
from mercado_shared.text import nfkc
from mercado_shared.updates import PartialUpdate


def _cpf(value: str) -> str:
    try:
        return normalize_cpf(value)
    except InvalidCpf as exc:
        raise ValueError(str(exc)) from None


_PHONE = re.compile(r"^\+?[0-9\s().-]{10,20}$")


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("a phone number has 10 to 13 digits, e.g. +55 11 91234-5678")
    digits = re.sub(r"[^0-9]", "", value)
    if not 10 <= len(digits) <= 13:
        raise ValueError("a phone number has 10 to 13 digits, e.g. +55 11 91234-5678")
    return ("+" if value.strip().startswith("+") else "") + digits


# Digits are ASCII (mercado_shared.text): full-width forms are put in NFKC first, others refused.
Cpf = Annotated[
    str,
    BeforeValidator(nfkc),
    Field(
        pattern=r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$",
        examples=["529.982.247-25"],
        description="CPF; check digits verified",
    ),
    AfterValidator(_cpf),
]
Phone = Annotated[
    str,
    BeforeValidator(nfkc),
    Field(pattern=r"^\+?[0-9 ().-]{10,20}$", examples=["+55 11 91234-5678"]),
    AfterValidator(_phone),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class CustomerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Maria Silva",
                    "email": "maria@example.com",
                    "phone": "+55 11 91234-5678",
                    "document": "123.456.789-09",
                    "password": "a-long-passphrase",
                }
            ]
        },
    )

    name: Name
    email: EmailStr
    phone: Phone
    document: Cpf
    password: Password
    initial_balance: Money | None = Field(default=None, description="staff only")
    credit_limit: Money | None = Field(default=None, description="staff only")


_CUSTOMER_READ_EXAMPLE: JsonDict = {
    "id": "0b7e4c1a-5d2f-4e8b-9c3a-1f2e3d4c5b6a",
    "name": "Maria Silva",
    "email": "maria@example.com",
    "phone": "+5511912345678",
    "document": "***.982.247-**",
    "account_balance": 50000.0,
    "credit_limit": 10000.0,
    "used_credit": 0.0,
    "available_credit": 10000.0,
    "status": "ACTIVE",
    "created_at": "2026-11-24T12:00:00Z",
}


class CustomerRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CUSTOMER_READ_EXAMPLE]})

    id: str
    name: str
    email: str
    phone: str
    document: str = Field(description="masked: ***.456.789-**")
    account_balance: Money
    credit_limit: Money
    used_credit: Money
    available_credit: Money
    status: CustomerStatus
    created_at: datetime

    @classmethod
    def of(cls, c: Customer, *, contacts_masked: bool = False) -> CustomerRead:
        """``contacts_masked``: as a list shows it (e-mail and phone masked)."""
        assert c.created_at is not None
        return cls(
            id=c.id,
            name=c.name,
            email=mask_email(c.email) if contacts_masked else c.email,
            phone=mask_phone(c.phone) if contacts_masked else c.phone,
            document=mask_cpf(c.document),
            account_balance=c.account_balance,
            credit_limit=c.credit_limit,
            used_credit=c.used_credit,
            available_credit=c.available_credit,
            status=c.status,
            created_at=c.created_at,
        )


class CustomerUpdate(PartialUpdate):
    """Only what may change; anything else (balance, status, role…) is refused."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"phone": "+55 21 99876-5432"},
                {"password": "a-new-long-passphrase", "current_password": "a-long-passphrase"},
                {"credit_limit": 25000.0},
            ]
        },
    )

    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    password: Password | None = Field(default=None, description="the customer only; staff send a reset instead")
    current_password: str | None = Field(
        default=None,
        max_length=128,
        description="the customer's password now: required when the customer changes email or password",
    )
    credit_limit: Money | None = Field(default=None, description="staff only")


class CustomerPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"customers": [_CUSTOMER_READ_EXAMPLE], "total": 1, "next_cursor": None}]}
    )

    customers: list[CustomerRead]
    total: int
    next_cursor: str | None


class HoldExport(BaseModel):
    transaction_id: str
    source: str
    amount: Money
    status: str
    created_at: datetime
    updated_at: datetime


class PurchaseExport(BaseModel):
    """A purchase, as the orchestrator holds it."""

    transaction_id: str
    vehicle_id: str
    amount: Money
    payment_type: str
    status: str
    current_step: str
    failure_reason: str | None
    payment_code: str | None
    payment_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PaymentCodeExport(BaseModel):
    """A payment code issued to the customer, as pagamento-service holds it."""

    code: str
    transaction_id: str
    amount: Money
    status: str
    expires_at: datetime


class PaymentExport(BaseModel):
    """A payment the customer made, as pagamento-service holds it."""

    id: str
    payment_code: str
    transaction_id: str
    amount: Money
    status: str
    created_at: datetime


class VehicleBoughtExport(BaseModel):
    """A vehicle the customer bought, as veiculo-service holds it."""

    id: str
    brand: str
    model: str
    year: int
    color: str
    license_plate: str
    chassi_number: str
    renavam: str
    sold_price: Money
    sold_at: datetime
    picked_up_at: datetime | None


class CustomerExport(BaseModel):
    """Every personal datum held about the customer, unmasked (LGPD right of access), with
    what the other services hold about it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7e4c1a-5d2f-4e8b-9c3a-1f2e3d4c5b6a",
                    "name": "Maria Silva",
                    "email": "maria@example.com",
                    "phone": "+5511912345678",
                    "document": "52998224725",
                    "account_balance": 4099.9,
                    "credit_limit": 10000.0,
                    "used_credit": 0.0,
                    "status": "ACTIVE",
                    "created_at": "2026-11-24T12:00:00Z",
                    "updated_at": "2026-11-24T12:05:00Z",
                    "holds": [
                        {
                            "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                            "source": "cash",
                            "amount": 45900.1,
                            "status": "CAPTURED",
                            "created_at": "2026-11-24T12:01:00Z",
                            "updated_at": "2026-11-24T12:02:00Z",
                        }
                    ],
                    "purchases": [
                        {
                            "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                            "vehicle_id": "7ad1761a-de74-48f9-9506-3200836bb801",
                            "amount": 45900.1,
                            "payment_type": "cash",
                            "status": "COMPLETED",
                            "current_step": "SAGA_COMPLETE",
                            "failure_reason": None,
                            "payment_code": "MVABCDEFGHIJKLMNOPQRSTUVWX",
                            "payment_expires_at": "2026-11-24T12:31:00Z",
                            "created_at": "2026-11-24T12:01:00Z",
                            "updated_at": "2026-11-24T12:02:00Z",
                        }
                    ],
                    "payment_codes": [
                        {
                            "code": "MVABCDEFGHIJKLMNOPQRSTUVWX",
                            "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                            "amount": 45900.1,
                            "status": "PAID",
                            "expires_at": "2026-11-24T12:31:00Z",
                        }
                    ],
                    "payments": [
                        {
                            "id": "9c0d6f1e-2b3a-4c5d-8e7f-0a1b2c3d4e5f",
                            "payment_code": "MVABCDEFGHIJKLMNOPQRSTUVWX",
                            "transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
                            "amount": 45900.1,
                            "status": "COMPLETED",
                            "created_at": "2026-11-24T12:01:30Z",
                        }
                    ],
                    "vehicles_bought": [
                        {
                            "id": "7ad1761a-de74-48f9-9506-3200836bb801",
                            "brand": "Volkswagen",
                            "model": "Gol",
                            "year": 2019,
                            "color": "Prata",
                            "license_plate": "ABC1D23",
                            "chassi_number": "9BWZZZ377VT004251",
                            "renavam": "12345678900",
                            "sold_price": 45900.1,
                            "sold_at": "2026-11-24T12:02:00Z",
                            "picked_up_at": None,
                        }
                    ],
                    "exported_at": "2026-11-24T13:00:00Z",
                }
            ]
        }
    )

    id: str
    name: str
    email: str
    phone: str
    document: str
    account_balance: Money
    credit_limit: Money
    used_credit: Money
    status: CustomerStatus
    created_at: datetime
    updated_at: datetime
    holds: list[HoldExport]
    purchases: list[PurchaseExport]
    payment_codes: list[PaymentCodeExport]
    payments: list[PaymentExport]
    vehicles_bought: list[VehicleBoughtExport]
    exported_at: datetime

    @classmethod
    def of(cls, c: Customer, holds: list[Hold], elsewhere: dict[str, Any], now: datetime) -> CustomerExport:
        assert c.created_at is not None and c.updated_at is not None
        return cls(
            id=c.id,
            name=c.name,
            email=c.email,
            phone=c.phone,
            document=c.document,
            account_balance=c.account_balance,
            credit_limit=c.credit_limit,
            used_credit=c.used_credit,
            status=c.status,
            created_at=c.created_at,
            updated_at=c.updated_at,
            holds=[
                HoldExport(
                    transaction_id=h.transaction_id,
                    source=h.source.value,
                    amount=h.amount,
                    status=h.status.value,
                    created_at=h.created_at or c.created_at,
                    updated_at=h.updated_at or c.updated_at,
                )
                for h in holds
            ],
            purchases=[PurchaseExport.model_validate(p) for p in elsewhere["purchases"]],
            payment_codes=[PaymentCodeExport.model_validate(p) for p in elsewhere["payment_codes"]],
            payments=[PaymentExport.model_validate(p) for p in elsewhere["payments"]],
            vehicles_bought=[VehicleBoughtExport.model_validate(v) for v in elsewhere["vehicles"]],
            exported_at=now,
        )


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9...", "token_type": "bearer", "expires_in": 3600}
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class CustomerFunds(BaseModel):
    """Internal: what a purchase needs to know about its buyer, and nothing personal."""

    account_balance: Money
    available_credit: Money
    status: CustomerStatus

    @classmethod
    def of(cls, c: Customer) -> CustomerFunds:
        return cls(account_balance=c.account_balance, available_credit=c.available_credit, status=c.status)


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "maria@example.com"}]})

    email: EmailStr


class PasswordResetAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "if this e-mail is a customer's, a reset link is on its way"}]}
    )

    message: str


class PasswordReset(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "q3J0cZ...", "password": "a-new-long-passphrase"}]},
    )

    token: str = Field(min_length=1, max_length=128, description="from the reset link")
    password: Password
