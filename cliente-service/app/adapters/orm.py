"""Tables of cliente-service and their mapping onto the domain classes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import registry

from app.domain.model import Customer, CustomerStatus, Hold, HoldStatus, StaffMember
from mercado_shared.contracts import PaymentType
from mercado_shared.db import str_enum, timestamp_columns
from mercado_shared.messaging.schema import messaging_tables
from mercado_shared.ratelimit import rate_limit_table

metadata = sa.MetaData()
mapper_registry = registry(metadata=metadata)
MONEY = sa.Numeric(14, 2)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("account_balance", MONEY, nullable=False),
    sa.Column("credit_limit", MONEY, nullable=False),
    sa.Column("used_credit", MONEY, nullable=False),
    sa.Column("opening_balance", MONEY, nullable=False, server_default="0"),
    sa.Column("status", str_enum(CustomerStatus), nullable=False),
    *timestamp_columns(),
    sa.CheckConstraint("account_balance >= 0", name="ck_customers_balance_not_negative"),
    sa.CheckConstraint("credit_limit >= 0", name="ck_customers_credit_limit_not_negative"),
    sa.CheckConstraint(
        "used_credit >= 0 AND used_credit <= credit_limit", name="ck_customers_used_credit_within_limit"
    ),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Uuid(as_uuid=False), nullable=False, index=True),
    sa.Column("source", str_enum(PaymentType), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("status", str_enum(HoldStatus), nullable=False),
    *timestamp_columns(),
    sa.CheckConstraint("amount >= 0", name="ck_holds_amount_not_negative"),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Customer, customers, eager_defaults=True)
    mapper_registry.map_imperatively(Hold, holds, eager_defaults=True)
    mapper_registry.map_imperatively(StaffMember, staff, eager_defaults=True)
