"""Staff's view of one purchase, as each participant holds it.

Every service answers ``GET /internal/transactions/{transaction_id}`` to the orchestrator
(an ``/internal`` route: ID tokens, ``INTERNAL_CALLERS``): the records the purchase
touched here (a hold, a reservation, a code and its payment), and its messages in this
service's outbox (what it sent, whether the relay has published it) and inbox (what it
handled), and what of it failed every delivery here (its dead letters, held or settled).
The orchestrator assembles them into the purchase's timeline for staff
(``GET /operations/purchases/{id}``). Records carry ids, statuses, amounts and times —
never personal data. Outbox rows are kept 7 days and inbox rows 15
(mercado_shared.retention): an older purchase shows its records and no messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy.engine import Engine

from mercado_shared.messaging.schema import MessagingTables
from mercado_shared.platform_auth import internal_caller

Records = Callable[[sa.Connection, str], dict[str, list[dict[str, Any]]]]


def rows(connection: sa.Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    """A query's rows as JSON-ready dicts."""
    return [dict(row._mapping) for row in connection.execute(query)]


def messages_of(connection: sa.Connection, tables: MessagingTables, transaction_id: str) -> dict[str, Any]:
    outbox, inbox = tables.outbox, tables.inbox
    sent = rows(
        connection,
        sa.select(outbox.c.message_id, outbox.c.topic, outbox.c.created_at, outbox.c.published_at)
        .add_columns(outbox.c.publish_attempts)
        .where(outbox.c.attributes["correlation_id"].as_string() == transaction_id)
        .order_by(outbox.c.id),
    )
    handled = rows(
        connection,
        sa.select(inbox.c.message_id, inbox.c.type, inbox.c.received_at)
        .where(inbox.c.correlation_id == transaction_id)
        .order_by(inbox.c.received_at),
    )
    dead = tables.dead_letters
    held = rows(
        connection,
        sa.select(dead.c.id, dead.c.topic, dead.c.state, dead.c.dead_at, dead.c.times_dead, dead.c.last_error)
        .add_columns(dead.c.settled_at, dead.c.settled_by, dead.c.reason)
        .where(dead.c.correlation_id == transaction_id)
        .order_by(dead.c.dead_at),
    )
    return {"outbox": sent, "inbox": handled, "dead_letters": held}


def transaction_router(tables: MessagingTables, records: Records) -> APIRouter:
    """``GET /internal/transactions/{transaction_id}``: ``records`` and the messages."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(internal_caller)])

    @router.get("/internal/transactions/{transaction_id}")
    def transaction(transaction_id: str, request: Request) -> dict[str, Any]:
        engine = cast(Engine, request.app.state.runtime.engine)
        with engine.connect() as connection:
            found = {"records": records(connection, transaction_id), **messages_of(connection, tables, transaction_id)}
        return cast(dict[str, Any], jsonable_encoder(found))

    return router
