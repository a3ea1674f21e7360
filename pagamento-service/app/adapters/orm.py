"""Tables of pagamento-service and their mapping onto the domain classes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import registry

from app.domain.model import AmountDiscrepancy, CodeStatus, Payment, PaymentCode, PaymentMethod, PaymentStatus
from mercado_shared.db import str_enum
from mercado_shared.messaging.schema import messaging_tables

metadata = sa.MetaData()
mapper_registry = registry(metadata=metadata)
MONEY = sa.Numeric(14, 2)

payment_codes = sa.Table(
    "payment_codes",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, nullable=False, unique=True),
    sa.Column("customer_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("status", str_enum(CodeStatus), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now(), onupdate=sa.func.now()
    ),
    sa.Column("pix_location", sa.Text, nullable=True),  # the provider's charge (app.adapters.pix_api)
    sa.CheckConstraint("amount >= 0", name="ck_payment_codes_amount_not_negative"),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    # One payment per code, whatever races the code.
    sa.Column("payment_code", sa.Text, sa.ForeignKey("payment_codes.code"), nullable=False, unique=True),
    sa.Column("transaction_id", sa.Text, nullable=False, index=True),
    sa.Column("customer_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("method", str_enum(PaymentMethod), nullable=False),
    sa.Column("status", str_enum(PaymentStatus), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
    # The Pix that paid it (its provider's notification): each settles one payment, once.
    sa.Column("end_to_end_id", sa.Text, nullable=True, unique=True),
    # Its refund as the provider's devoluções (Payment.refund_id), and whether staff must act.
    sa.Column("refund_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refund_needs_person", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
    sa.CheckConstraint("(status = 'REFUNDED') = (refunded_at IS NOT NULL)", name="ck_payments_refund_dated"),
)

# What the provider notified that did not match the code: refused, kept for staff to settle
# with the provider (money moved there that settles nothing here). One row per code and
# notified amount; a repeat of the same notification counts, it does not duplicate.
payment_discrepancies = sa.Table(
    "payment_discrepancies",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("payment_code", sa.Text, sa.ForeignKey("payment_codes.code"), nullable=False),
    sa.Column("transaction_id", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("expected_amount", MONEY, nullable=False),
    sa.Column("notified_amount", MONEY, nullable=False),
    sa.Column("method", str_enum(PaymentMethod), nullable=False),
    sa.Column("notifications", sa.Integer, nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("payment_code", "notified_amount", name="uq_payment_discrepancies_code_amount"),
    sa.CheckConstraint("notified_amount <> expected_amount", name="ck_payment_discrepancies_differ"),
    sa.CheckConstraint("notifications >= 1", name="ck_payment_discrepancies_counted"),
    sa.Index("ix_payment_discrepancies_first_seen", "first_seen_at", "id"),
)

messaging = messaging_tables(metadata)


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(PaymentCode, payment_codes, eager_defaults=True)
    mapper_registry.map_imperatively(Payment, payments, eager_defaults=True)
    mapper_registry.map_imperatively(AmountDiscrepancy, payment_discrepancies)
