"""Tables of the orchestrator: saga state (versioned) and its append-only history."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from app.domain.saga import CurrentStep, SagaStatus
from mercado_shared.contracts import PaymentType
from mercado_shared.db import str_enum
from mercado_shared.messaging.schema import messaging_tables
from mercado_shared.ratelimit import rate_limit_table

metadata = sa.MetaData()
MONEY = sa.Numeric(14, 2)

sagas = sa.Table(
    "saga_states",
    metadata,
    sa.Column("transaction_id", sa.Uuid(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False, index=True),
    sa.Column("vehicle_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("payment_type", str_enum(PaymentType), nullable=False),
    sa.Column("status", str_enum(SagaStatus), nullable=False, index=True),
    sa.Column("step", sa.Text, nullable=False),
    sa.Column("failure_reason", sa.Text, nullable=True),
    sa.Column("payment_code", sa.Text, nullable=True),
    sa.Column("payment_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("payment_id", sa.Text, nullable=True),
    sa.Column("awaiting_compensations", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),  # optimistic concurrency
    # The saga definition it runs under (app.domain.saga.DEFINITIONS); 1 before there were others.
    sa.Column("definition", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("amount > 0", name="ck_saga_states_amount_positive"),
    sa.CheckConstraint("version >= 1", name="ck_saga_states_version_positive"),
    sa.CheckConstraint("definition >= 1", name="ck_saga_states_definition_positive"),
    sa.CheckConstraint(
        "status NOT IN ('FAILED', 'CANCELLED', 'EXPIRED') OR failure_reason IS NOT NULL",
        name="ck_saga_states_failure_has_reason",
    ),
)

history = sa.Table(
    "saga_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("transaction_id", sa.Uuid(as_uuid=False), sa.ForeignKey("saga_states.transaction_id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("status", str_enum(SagaStatus), nullable=False),
    sa.Column("current_step", str_enum(CurrentStep, length=30), nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    # What the input made the saga do (null in entries written before they were recorded):
    # the commands it sent (their types), at which attempt of the step, and the deadline set.
    sa.Column("commands", ARRAY(sa.Text), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
)
sa.Index("ix_saga_history_transaction", history.c.transaction_id, history.c.id)

# The deadline sweep: only sagas still running have a deadline.
sa.Index("ix_saga_states_deadline", sagas.c.deadline_at, postgresql_where=sagas.c.deadline_at.is_not(None))
# Listing a buyer's purchases, newest first, and staff's by status.
sa.Index(
    "ix_saga_states_customer_created", sagas.c.customer_id, sagas.c.created_at.desc(), sagas.c.transaction_id.desc()
)
sa.Index("ix_saga_states_created", sagas.c.created_at.desc(), sagas.c.transaction_id.desc())
# The archive finds purchases that ended long ago (only ended ones have no deadline).
sa.Index(
    "ix_saga_states_ended",
    sagas.c.updated_at,
    sagas.c.transaction_id,
    postgresql_where=sagas.c.deadline_at.is_(None),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Uuid(as_uuid=False), sa.ForeignKey("saga_states.transaction_id"), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("ix_idempotency_keys_created_at", "created_at", postgresql_using="brin"),  # the retention purge
)

messaging = messaging_tables(metadata)
# Staff's timeline of a purchase reads what was done to it (GET /operations/purchases/{id}).
sa.Index("ix_audit_log_subject", messaging.audit.c.subject, messaging.audit.c.id)
rate_limits = rate_limit_table(metadata)
