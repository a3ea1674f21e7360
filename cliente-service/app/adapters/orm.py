"""Tables of cliente-service and their mapping onto the domain classes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, column_property, registry
from sqlalchemy.orm.attributes import set_committed_value

from app.adapters.crypto import DecryptionFailed, PersonalDataVault, RowKey
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
    # v1: under the service's data key, bound to the column; what the revision before reads.
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
    # v2: under the customer's own key, bound to table, column and row (``_seal_changed``).
    # Null where a revision before this one wrote last (the database clears a sealed copy
    # when only the v1 value changes: migration 0012's trigger).
    sa.Column("sealed_name", sa.Text, nullable=True),
    sa.Column("sealed_email", sa.Text, nullable=True),
    sa.Column("sealed_phone", sa.Text, nullable=True),
    sa.Column("sealed_document", sa.Text, nullable=True),
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

# Each customer's own key, wrapped by a data key and bound to its customer; deleted when the
# customer is erased (crypto-shredding). No foreign key: the key is written first.
customer_keys = sa.Table(
    "customer_keys",
    metadata,
    sa.Column("customer_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("wrapped", sa.Text, nullable=False),  # v1.<data key id>.<nonce+ciphertext>
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
    sa.Column("html", Encrypted("mail_html"), nullable=True),
    sa.Column("qr", Encrypted("mail_qr"), nullable=True),
    sa.Column("transaction_id", sa.Text, nullable=True),  # the purchase it is about, if any
    # Undelivered by not_after: kept (dead_at set, for operators; purged after 30 days) if
    # dead_letter, else dropped (a link or a code that no longer works).
    sa.Column("dead_letter", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_outgoing_mail_due", "next_attempt_at"),
)

# Which notices of a purchase were decided (app.service_layer.notices): one each, whatever
# delivers its event again or sends another like it.
purchase_notices = sa.Table(
    "purchase_notices",
    metadata,
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)


# ------------------------------------------------------------------ a customer's personal data
# Two forms while the revision before this one may still run (a rollout, a rollback): v1 in
# ``name``…``document`` (the domain's attributes, decrypted by ``Encrypted``), and v2 in
# ``sealed_<field>`` under the customer's own key, whose wrapped form is loaded with the row
# as ``sealed_key``. v2 is what is read when present, so a sealed value moved to another
# row or column is refused on read. The release after this one stops writing v1
# (docs/operations.md, "Customer keys").
PERSONAL = ("name", "email", "phone", "document")
_ROW_KEY = "_row_key"  # the opened RowKey, kept on the instance (not mapped)
_RESEAL = "_reseal"  # set when the key was destroyed: seal again under a new one


def _open(customer: Customer, context: Any, _attrs: Any = None) -> None:
    state = customer.__dict__
    sealed: list[str | None] = [state.get(f"sealed_{field}") for field in PERSONAL]
    if None in sealed or state.get("sealed_key") is None:
        return  # written last by the revision before (v1 is current), or a partial refresh
    vault = _vault(context.session.get_bind().dialect)
    try:
        key, plain = _opened(vault, state["sealed_key"], customer.id, sealed)
    except DecryptionFailed:
        # A locking read that waited for an erasure sees the row as the erasure left it but
        # the key as it was when the statement began (its snapshot): read the key again.
        query = sa.select(customer_keys.c.wrapped).where(customer_keys.c.customer_id == customer.id)
        key, plain = _opened(vault, context.session.connection().scalar(query), customer.id, sealed)
    for field, value in zip(PERSONAL, plain, strict=True):
        set_committed_value(customer, field, value)
    state[_ROW_KEY] = key


def _opened(
    vault: PersonalDataVault, wrapped: str | None, customer_id: str, sealed: list[str | None]
) -> tuple[RowKey, list[str]]:
    if wrapped is None:
        raise DecryptionFailed(f"customer {customer_id} has sealed fields and no key")
    key = vault.unwrap_row_key(wrapped, customers.name, customer_id)
    return key, [key.open(str(token), field) for field, token in zip(PERSONAL, sealed, strict=True)]


def _seal_changed(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Before a flush: a new customer, one whose personal data changed, and one whose key
    was destroyed are sealed (again) under their own key, created first if they have none.
    Their e-mail and CPF are also written as blind indexes (``BlindIndexed`` turns the
    plaintext assigned to ``*_index`` into its HMAC). A customer whose personal data did not
    change (a hold moving its balance) writes none of this."""
    for customer in [*session.new, *session.dirty]:
        if not isinstance(customer, Customer):
            continue
        state, attributes = customer.__dict__, sa.inspect(customer).attrs
        changed = any(attributes[field].history.has_changes() for field in PERSONAL)
        unsealed = any(state.get(f"sealed_{field}") is None for field in PERSONAL)
        if not (customer in session.new or changed or unsealed or state.pop(_RESEAL, False)):
            continue
        key = state.get(_ROW_KEY)
        if key is None:
            vault = _vault(session.get_bind().dialect)
            key = RowKey.new(customers.name, customer.id)
            row = {"customer_id": customer.id, "wrapped": vault.wrap_row_key(key, customers.name, customer.id)}
            upsert = insert(customer_keys).values(row)
            session.connection().execute(
                upsert.on_conflict_do_update(index_elements=[customer_keys.c.customer_id], set_=row)
            )
            state[_ROW_KEY] = key
        for field in PERSONAL:
            setattr(customer, f"sealed_{field}", key.seal(getattr(customer, field), field))
        customer.email_index = customer.email  # type: ignore[attr-defined]
        customer.document_index = customer.document  # type: ignore[attr-defined]


def destroy_key(session: Session, customer: Customer) -> None:
    """Crypto-shredding at erasure: the key that sealed the customer's personal data is
    deleted; what the customer holds now (placeholders) is sealed under a new one."""
    session.connection().execute(sa.delete(customer_keys).where(customer_keys.c.customer_id == customer.id))
    customer.__dict__.pop(_ROW_KEY, None)
    customer.__dict__[_RESEAL] = True


def start_mappers() -> None:
    if mapper_registry.mappers:
        return
    row_key = sa.select(customer_keys.c.wrapped).where(customer_keys.c.customer_id == customers.c.id).scalar_subquery()
    mapper_registry.map_imperatively(
        Customer,
        customers,
        eager_defaults=True,
        properties={"sealed_key": column_property(row_key)},
    )
    sa.event.listen(Customer, "load", _open)
    sa.event.listen(Customer, "refresh", _open)
    sa.event.listen(Session, "before_flush", _seal_changed)
    mapper_registry.map_imperatively(Hold, holds, eager_defaults=True)
    mapper_registry.map_imperatively(StaffMember, staff, eager_defaults=True)
    mapper_registry.map_imperatively(PasswordReset, password_resets, eager_defaults=True)
    mapper_registry.map_imperatively(OutgoingMail, outgoing_mail, eager_defaults=True)
