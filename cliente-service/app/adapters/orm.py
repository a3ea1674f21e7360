"""Tables of cliente-service and their mapping onto the domain classes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import registry

from app.adapters.crypto import PersonalDataVault
from app.domain.model import (
    Customer,
    CustomerStatus,
    Hold,
    HoldStatus,
    OutgoingMail,
    PasswordReset,
    StaffMember,
)
from mercado_shared.contracts import PaymentType
from mercado_shared.db import str_enum, timestamp_columns
from mercado_shared.messaging.schema import messaging_tables
from mercado_shared.ratelimit import rate_limit_table

metadata = sa.MetaData()
mapper_registry = registry(metadata=metadata)
MONEY = sa.Numeric(14, 2)


def attach_vault(engine: Engine, vault: PersonalDataVault) -> None:
    """Personal data read or written through ``engine`` is encrypted with ``vault``'s keys.

    The vault hangs off the engine's dialect, the one object column types see, so two
    engines (two databases, as in the tests) never share keys.
    """
    engine.dialect.personal_data_vault = vault  # type: ignore[attr-defined]


def _vault(dialect: Dialect) -> PersonalDataVault:
    vault: PersonalDataVault | None = getattr(dialect, "personal_data_vault", None)
    if vault is None:
        raise RuntimeError("no key vault attached to this engine: call orm.attach_vault(engine, vault)")
    return vault


class _ColumnBound(sa.TypeDecorator[str]):
    """Text whose stored form depends on the column it belongs to (its key domain)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column


class Encrypted(_ColumnBound):
    """Text stored as AES-GCM ciphertext bound to its column (``v1.<key id>.<nonce+ct>``)."""

    cache_ok = True  # SQLAlchemy reads it from each class itself

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _vault(dialect).encrypt(str(value), self.column)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _vault(dialect).decrypt(value, self.column)


class BlindIndexed(_ColumnBound):
    """A keyed HMAC of a value: equal values match (``column == plaintext`` in a query);
    nothing else about the value can be learnt from it."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _vault(dialect).index(str(value), self.column)


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("name", Encrypted("name"), nullable=False),
    sa.Column("email", Encrypted("email"), nullable=False),
    sa.Column("email_index", BlindIndexed("email"), nullable=False, unique=True),
    sa.Column("phone", Encrypted("phone"), nullable=False),
    sa.Column("document", Encrypted("document"), nullable=False),
    sa.Column("document_index", BlindIndexed("document"), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("account_balance", MONEY, nullable=False),
    sa.Column("credit_limit", MONEY, nullable=False),
    sa.Column("used_credit", MONEY, nullable=False),
    sa.Column("opening_balance", MONEY, nullable=False, server_default="0"),
    sa.Column("status", str_enum(CustomerStatus), nullable=False),
    sa.Column("session_version", sa.Integer, nullable=False, server_default="1"),
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
    sa.Column("session_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("totp_secret", Encrypted("staff_totp"), nullable=True),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("kek_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("purpose IN ('field', 'index')", name="ck_data_keys_purpose"),
)

password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),  # SHA-256 of the token, hex
    sa.Column("customer_id", sa.Uuid(as_uuid=False), nullable=False, index=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# Mail waiting for the relay: address and body (a reset link) encrypted like personal data.
outgoing_mail = sa.Table(
    "outgoing_mail",
    metadata,
    sa.Column("id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("recipient", Encrypted("mail_recipient"), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", Encrypted("mail_body"), nullable=False),
    sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("ix_outgoing_mail_due", "next_attempt_at"),
)

messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)


def _index_personal_data(_mapper: Any, _connection: Any, customer: Customer) -> None:
    """email and document are each written twice: encrypted, and as their blind index
    (the plaintext assigned here is turned into its HMAC by ``BlindIndexed``)."""
    customer.email_index = customer.email  # type: ignore[attr-defined]
    customer.document_index = customer.document  # type: ignore[attr-defined]


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Customer, customers, eager_defaults=True)
    sa.event.listen(Customer, "before_insert", _index_personal_data)
    sa.event.listen(Customer, "before_update", _index_personal_data)
    mapper_registry.map_imperatively(Hold, holds, eager_defaults=True)
    mapper_registry.map_imperatively(StaffMember, staff, eager_defaults=True)
    mapper_registry.map_imperatively(PasswordReset, password_resets, eager_defaults=True)
    mapper_registry.map_imperatively(OutgoingMail, outgoing_mail, eager_defaults=True)
