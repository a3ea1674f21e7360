"""Staff accountability: what staff change, who, when and from where.

Every staff action that changes money, identity or a purchase is written, in the
transaction that makes it, to the service's ``audit_log``, and once committed, to the log
as a structured line (``jsonPayload.audit``) that Terraform routes to a locked Cloud
Logging bucket (terraform/monitoring.tf). The table is append-only: the database itself
refuses to change or delete an entry (a trigger, as for the saga's history), so a staff
member, or the service acting for one, cannot take back what the log says; the locked
bucket holds a second copy out of reach of anyone who can write the database.

Staff read it at ``GET /audit-log/<resource>`` on each service, newest first.
Details name what changed and money amounts, never personal data (no e-mail, CPF or
phone: the subject's id says whose record it was).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, cast

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mercado_shared.auth import CurrentUser, OptionalUser, Principal, StaffUser
from mercado_shared.client_address import client_address
from mercado_shared.errors import STAFF_ERRORS, Unprocessable, error_responses
from mercado_shared.pagination import Cursor, Limit, decode_cursor, encode_cursor
from mercado_shared.settings import ServiceSettings

log = logging.getLogger("mercado_shared.audit")
TABLE = "audit_log"


def _columns() -> list[Any]:
    return [
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),  # the staff member's id
        sa.Column("address", sa.Text, nullable=False),  # where the request came from
        sa.Column("action", sa.Text, nullable=False),  # e.g. customer.credit_limit_changed
        sa.Column("subject", sa.Text, nullable=False),  # the record acted on
        sa.Column("details", sa.JSON, nullable=False),
    ]


def audit_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(TABLE, metadata, *_columns())


def create_audit_table(op: Any) -> None:
    """For each service's migration that brought the audit log (expand-only: a new table)."""
    op.create_table(TABLE, *_columns())
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
        END
        $$;
        CREATE TRIGGER audit_log_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        """
    )


def drop_audit_table(op: Any) -> None:
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table(TABLE)


class AuditSource(Protocol):
    """What this module takes from the running service (mercado_shared.runtime.Runtime)."""

    settings: ServiceSettings
    engine: Engine

    def uow_factory(self) -> Any: ...


def _running(request: Request) -> AuditSource:
    return cast(AuditSource, request.app.state.runtime)


@dataclass(frozen=True)
class Actor:
    """Who is acting through a request, and from where."""

    principal: Principal
    address: str

    @classmethod
    def of(cls, request: Request, principal: Principal | None) -> Actor | None:
        if principal is None:
            return None
        hops = _running(request).settings.forwarded_for_hops
        return cls(principal, client_address(request, hops))


async def acting_unit_of_work(request: Request, principal: CurrentUser) -> Any:
    """A route's unit of work that knows who acts through it: what staff do is audited."""
    uow = _running(request).uow_factory()
    uow.actor = Actor.of(request, principal)
    return uow


async def maybe_acting_unit_of_work(request: Request, principal: OptionalUser) -> Any:
    """The same, for a route anonymous callers may use too."""
    uow = _running(request).uow_factory()
    uow.actor = Actor.of(request, principal)
    return uow


@dataclass(frozen=True)
class Entry:
    actor: str
    address: str
    action: str
    subject: str
    details: dict[str, Any]


def write(
    session: Session, table: sa.Table, actor: Actor | None, action: str, subject: str, **details: Any
) -> Entry | None:
    """In the caller's transaction; only staff actions are recorded. Returns the entry to log
    once the transaction commits."""
    if actor is None or not actor.principal.is_staff:
        return None
    entry = Entry(actor.principal.subject, actor.address, action, subject, _plain(details))
    session.execute(
        sa.insert(table).values(
            actor=entry.actor, address=entry.address, action=action, subject=subject, details=entry.details
        )
    )
    return entry


def announce(entries: list[Entry]) -> None:
    """The committed entries, as log lines Cloud Logging routes to the locked audit bucket."""
    for entry in entries:
        log.info("audit %s", entry.action, extra={"audit": entry.__dict__})


def _plain(value: Any) -> Any:
    """JSON-safe: money as a string with two decimals, anything else unknown as its text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


# ------------------------------------------------------------------ reading it
class AuditEntry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "at": "2026-11-24T12:10:00Z",
                    "actor": "5a2f7c1e-8d4b-4f3a-9c6e-2b1d0e9f8a7c",
                    "address": "203.0.113.7",
                    "action": "customer.changed",
                    "subject": "9d2f7a30-5b1e-4f0a-8c3d-6e4b2a1f0c99",
                    "details": {"fields": ["credit_limit"], "credit_limit": {"from": "0.00", "to": "25000.00"}},
                }
            ]
        }
    )

    id: int
    at: datetime
    actor: str
    address: str
    action: str
    subject: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"entries": [], "next_cursor": None}]})

    entries: list[AuditEntry]
    next_cursor: str | None


def audit_router(path: str, table: sa.Table) -> APIRouter:
    """``GET <path>``: this service's audit log for staff, newest first."""
    router = APIRouter(tags=["audit"])

    @router.get(
        path,
        summary="What staff changed here (money, identity, purchases): who, what, when, from where; newest first",
        response_model=AuditPage,
        responses={**STAFF_ERRORS, **error_responses((422, "INVALID_CURSOR"))},
    )
    def read_audit_log(_: StaffUser, request: Request, limit: Limit = 50, cursor: Cursor = None) -> AuditPage:
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit + 1)
        if cursor is not None:
            (before,) = decode_cursor(cursor, 1)
            if not re.fullmatch(r"[0-9]{1,18}", before):
                raise Unprocessable("INVALID_CURSOR", "the cursor is not one this API returned")
            query = query.where(table.c.id < int(before))
        with _running(request).engine.connect() as connection:
            rows = connection.execute(query).all()
        more, rows = len(rows) > limit, rows[:limit]
        return AuditPage(
            entries=[AuditEntry.model_validate(row._asdict()) for row in rows],
            next_cursor=encode_cursor(str(rows[-1].id)) if more else None,
        )

    return router
