"""What a purchase touched here, for staff's timeline (mercado_shared.operations): its
payment code, the payment that paid it (with its refund's state), and any notification
that did not match."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.adapters.orm import payment_codes, payment_discrepancies, payments
from mercado_shared.operations import rows


def records_of(connection: sa.Connection, transaction_id: str) -> dict[str, list[dict[str, Any]]]:
    codes = payment_codes.c
    return {
        "codes": rows(
            connection,
            sa.select(codes.code, codes.customer_id, codes.amount, codes.status, codes.expires_at, codes.created_at)
            .add_columns(codes.updated_at)
            .where(codes.transaction_id == transaction_id),
        ),
        "payments": rows(
            connection,
            sa.select(payments).where(payments.c.transaction_id == transaction_id).order_by(payments.c.created_at),
        ),
        "discrepancies": rows(
            connection,
            sa.select(payment_discrepancies).where(payment_discrepancies.c.transaction_id == transaction_id),
        ),
    }
