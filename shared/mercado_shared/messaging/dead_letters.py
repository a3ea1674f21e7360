"""Dead letters over HTTP: each service keeps what failed every delivery, and staff redrive
or discard it from the console.

A message that fails all its delivery attempts is moved by Pub/Sub to the service's
dead-letter topic, ``dead-letter.{service}``. Two subscriptions take it from there:
``.hold`` (pull, kept 7 days: the operator's break glass, ``mercado_shared.deadletters``)
and ``.store``, which pushes it to ``POST /pubsub/dead-letters`` of the same service. That
route writes it to the service's ``dead_letters`` table (once per death: a repeated push
of the same dead letter changes nothing), where it waits for staff:

- ``GET /operations/dead-letters/{service}``: what is held, oldest first, the message
  decoded with personal data masked;
- ``POST …/redrive``: hand one, a selection or all of them to this service's handler now,
  exactly as a push would (the inbox makes a message already handled a no-op). One that
  succeeds is marked redriven; one that fails stays held with the error, to fix and retry.
  Redriving here needs no right to publish to the topic the message came from (only its
  producer has that): the service that dead-lettered it is the one that must handle it.
- ``POST …/discard``: a message that can never succeed (undecodable, an unknown type, a
  purchase long gone) is set aside with the reason.

Each action is in the service's audit log (who, when, why, what came of it). Redriven and
discarded rows are purged 30 days after (``mercado_shared.retention``); held ones never.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.config import JsonDict
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mercado_shared import audit, metrics
from mercado_shared.auth import StaffUser
from mercado_shared.contracts import Envelope, UnknownMessageType
from mercado_shared.errors import STAFF_ERRORS, Unprocessable, error_responses
from mercado_shared.messaging.bus import MessageBus, NoHandler
from mercado_shared.messaging.push import PushRequest
from mercado_shared.messaging.schema import DISCARDED, HELD, REDRIVEN
from mercado_shared.pagination import Cursor, Limit, decode_time_cursor, encode_time_cursor
from mercado_shared.platform_auth import CallerAuthenticator, CallerRefused
from mercado_shared.topology import Topology

log = logging.getLogger(__name__)
PUSH_PATH = Topology.DEAD_LETTER_PUSH_PATH
MAX_SELECTION = 100  # ids per request; "all" works through every held one in batches of this
MAX_ID = 200  # characters kept of an id or a type (an envelope's id is a UUID, the broker's shorter)
# A redrive answers within Cloud Run's request timeout (30 s): it stops after this many
# seconds of handling and says there is more ("more": true); the console asks again.
REDRIVE_BUDGET_SECONDS = 20.0
_SOURCE_ATTEMPTS = "CloudPubSubDeadLetterSourceDeliveryCount"
_SOURCE_SUBSCRIPTION = "CloudPubSubDeadLetterSourceSubscription"
# Keys whose values are personal data wherever they appear in a payload: shown masked.
PERSONAL_KEYS = frozenset({"name", "email", "phone", "document", "cpf", "address", "recipient", "password"})
MASK = "•••"


# ------------------------------------------------------------------ keeping them
def keep(engine: Engine, table: sa.Table, push: PushRequest) -> str:
    """Store a dead letter pushed from ``dead-letter.{service}.store``; its id."""
    message = push.message
    attributes = dict(message.attributes)
    try:
        data = base64.b64decode(message.data, validate=True)
    except (binascii.Error, ValueError):
        data = message.data.encode()
    key = (attributes.get("message_id") or message.message_id)[:MAX_ID]
    values = {
        "id": key,
        "topic": attributes.get("type", "unknown")[:MAX_ID],
        "data": data,
        "attributes": attributes,
        "correlation_id": attributes.get("correlation_id"),
        "source_subscription": attributes.get(_SOURCE_SUBSCRIPTION),
        "delivery_attempts": int(attempts) if (attempts := attributes.get(_SOURCE_ATTEMPTS, "")).isdigit() else 0,
        "last_push_id": message.message_id,
    }
    statement = insert(table).values(values)
    died_again = {  # redriven, then dead again: held again
        "state": HELD,
        "times_dead": table.c.times_dead + 1,
        "dead_at": sa.func.now(),
        "delivery_attempts": statement.excluded.delivery_attempts,
        "last_push_id": statement.excluded.last_push_id,
        "settled_at": None,
        "settled_by": None,
        "reason": None,
    }
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_=died_again,
        where=table.c.last_push_id != statement.excluded.last_push_id,  # the same push again: nothing
    )
    with engine.begin() as connection:
        connection.execute(statement)
    return key


def push_router(service: str, engine: Engine, table: sa.Table, authenticator: CallerAuthenticator) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post(PUSH_PATH)
    async def receive_dead_letter(request: Request) -> Response:
        body = await request.body()
        try:
            authenticator.check(request, body)
        except CallerRefused as refused:
            log.warning("dead letter push refused", extra={"reason": refused.reason})
            return Response(status_code=refused.status_code)
        try:
            push = PushRequest.model_validate_json(body)
        except ValidationError:
            return Response(status_code=400)
        try:
            key = await run_in_threadpool(keep, engine, table, push)
        except Exception:
            log.exception("dead letter not stored")  # nacked: Pub/Sub pushes it again
            return Response(status_code=503)
        metrics.DEAD_LETTERS_STORED.labels(service, push.message.attributes.get("type", "unknown")).inc()
        log.warning("dead letter held for staff", extra={"message_id": key})
        return Response(status_code=204)

    return router


# ------------------------------------------------------------------ reading them
def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if k in PERSONAL_KEYS and v is not None else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def decoded(data: bytes) -> dict[str, Any]:
    """The envelope, personal data masked; or what can be said of bytes that are not one."""
    try:
        envelope = json.loads(data)
    except ValueError:
        return {"undecodable": True, "bytes": len(data)}
    if not isinstance(envelope, dict):
        return {"undecodable": True, "bytes": len(data)}
    return cast(dict[str, Any], masked(envelope))


class DeadLetter(BaseModel):
    id: str
    topic: str
    correlation_id: str | None
    source_subscription: str | None
    delivery_attempts: int = Field(description="attempts of the delivery that dead-lettered it")
    times_dead: int = Field(description="how many times it was dead-lettered (a redrive that failed later adds one)")
    dead_at: datetime
    state: str = Field(description="HELD, REDRIVEN or DISCARDED")
    last_error: str | None = Field(description="why the last redrive failed")
    settled_at: datetime | None
    settled_by: str | None = Field(description="the staff member who redrove or discarded it")
    reason: str | None
    message: dict[str, Any] = Field(description="the envelope, decoded, personal data masked")


_EXAMPLE: JsonDict = {
    "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "topic": "commands.credit.reserve",
    "correlation_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22",
    "source_subscription": "projects/p/subscriptions/cliente-service.commands.credit.reserve",
    "delivery_attempts": 100,
    "times_dead": 1,
    "dead_at": "2026-11-24T12:00:00Z",
    "state": "HELD",
    "last_error": None,
    "settled_at": None,
    "settled_by": None,
    "reason": None,
    "message": {
        "type": "commands.credit.reserve",
        "payload": {"transaction_id": "4f1c2e9a-0b7d-4c38-9a51-2f6f3f0d1e22", "amount": "45900.10"},
    },
}


class DeadLetterPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"service": "cliente-service", "held": 1, "dead_letters": [_EXAMPLE], "next_cursor": None}]
        }
    )

    service: str
    held: int = Field(description="how many wait for staff now")
    dead_letters: list[DeadLetter]
    next_cursor: str | None


class Selection(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": ["0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"], "reason": "the fix for the capture bug is deployed"},
                {"all": True, "reason": "cliente-service's database is back"},
            ]
        },
    )

    ids: list[str] = Field(default=[], max_length=MAX_SELECTION)
    all: bool = Field(default=False, description="every held one (redrive only)")
    reason: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _one_way(self) -> Selection:
        if bool(self.ids) == self.all:
            raise ValueError("name the ids, or all: true")
        return self


class Settled(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "settled": ["0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"],
                    "failed": {},
                    "not_held": [],
                    "more": False,
                }
            ]
        }
    )

    settled: list[str] = Field(description="redriven (handled, or found already handled) or discarded")
    failed: dict[str, str] = Field(description="id → why its handler failed again: still held")
    not_held: list[str] = Field(description="unknown, or already redriven or discarded")
    more: bool = Field(default=False, description="the time of one request ran out: ask again for the rest")


def _row(row: sa.Row[Any]) -> DeadLetter:
    m = row._mapping
    return DeadLetter(**{k: m[k] for k in DeadLetter.model_fields if k != "message"}, message=decoded(m["data"]))


def staff_router(service: str, engine: Engine, table: sa.Table, audit_log: sa.Table, bus: MessageBus[Any]) -> APIRouter:
    """The staff routes of ``service``'s dead letters (public, behind the load balancer)."""
    base = f"/operations/dead-letters/{service}"
    router = APIRouter(tags=["dead letters"])

    @router.get(
        base,
        summary=f"Staff: {service}'s dead letters, oldest first, decoded (personal data masked)",
        response_model=DeadLetterPage,
        responses={**STAFF_ERRORS, **error_responses((422, "INVALID_CURSOR"))},
    )
    def list_dead_letters(
        _: StaffUser,
        state: str = Query(HELD, pattern=f"^({HELD}|{REDRIVEN}|{DISCARDED})$"),
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DeadLetterPage:
        query = sa.select(table).where(table.c.state == state)
        if cursor is not None:
            at, key = decode_time_cursor(cursor, valid_id=lambda key: 0 < len(key) <= MAX_ID)
            query = query.where(sa.tuple_(table.c.dead_at, table.c.id) > sa.tuple_(sa.literal(at), sa.literal(key)))
        with engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.dead_at, table.c.id).limit(limit + 1)).all()
            held = connection.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.state == HELD))
        more, rows = len(rows) > limit, rows[:limit]
        following = encode_time_cursor(rows[-1].dead_at, rows[-1].id) if more else None
        return DeadLetterPage(
            service=service, held=int(held or 0), dead_letters=[_row(r) for r in rows], next_cursor=following
        )

    @router.post(
        base + "/redrive",
        summary="Staff: hand dead letters (some, or all held) to this service's handler again now",
        response_model=Settled,
        responses=STAFF_ERRORS,
    )
    def redrive(body: Selection, principal: StaffUser, request: Request) -> Settled:
        actor = audit.Actor.of(request, principal)
        outcome = Settled(settled=[], failed={}, not_held=[])
        deadline = time.monotonic() + REDRIVE_BUDGET_SECONDS
        if body.all:
            seen: set[str] = set()
            while not outcome.more:
                with engine.connect() as connection:
                    batch = list(
                        connection.scalars(
                            sa.select(table.c.id)
                            .where(table.c.state == HELD, table.c.id.not_in(seen) if seen else sa.true())
                            .order_by(table.c.dead_at, table.c.id)
                            .limit(MAX_SELECTION)
                        )
                    )
                if not batch:
                    break
                seen.update(batch)
                _redrive(engine, table, bus, batch, principal.subject, body.reason, outcome, deadline)
        else:
            ids = list(dict.fromkeys(body.ids))
            _redrive(engine, table, bus, ids, principal.subject, body.reason, outcome, deadline)
        _audit(engine, audit_log, actor, "dead_letters.redriven", body.reason, outcome)
        return outcome

    @router.post(
        base + "/discard",
        summary="Staff: set dead letters aside that can never succeed, with the reason",
        response_model=Settled,
        responses=STAFF_ERRORS,
    )
    def discard(body: Selection, principal: StaffUser, request: Request) -> Settled:
        if body.all:
            raise Unprocessable("SELECTION_REQUIRED", "discard names the dead letters one by one")
        actor = audit.Actor.of(request, principal)
        ids = list(dict.fromkeys(body.ids))
        with engine.begin() as connection:
            done = set(
                connection.scalars(
                    sa.update(table)
                    .where(table.c.id.in_(ids), table.c.state == HELD)
                    .values(state=DISCARDED, settled_at=sa.func.now(), settled_by=principal.subject, reason=body.reason)
                    .returning(table.c.id)
                )
            )
        outcome = Settled(settled=[i for i in ids if i in done], failed={}, not_held=[i for i in ids if i not in done])
        _audit(engine, audit_log, actor, "dead_letters.discarded", body.reason, outcome)
        return outcome

    return router


def _redrive(
    engine: Engine,
    table: sa.Table,
    bus: MessageBus[Any],
    ids: list[str],
    who: str,
    reason: str,
    outcome: Settled,
    deadline: float,
) -> None:
    """Each held one, locked while its handler runs (two staff redriving at once do not
    both run it), then marked redriven or left held with the error; until ``deadline``."""
    for key in ids:
        if time.monotonic() > deadline:
            outcome.more = True  # the rest stay held, untouched, for the next request
            return
        with engine.begin() as connection:
            row = connection.execute(
                sa.select(table.c.data)
                .where(table.c.id == key, table.c.state == HELD)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                outcome.not_held.append(key)
                continue
            error = _handle(bus, row.data)
            if error is None:
                connection.execute(
                    sa.update(table)
                    .where(table.c.id == key)
                    .values(state=REDRIVEN, settled_at=sa.func.now(), settled_by=who, reason=reason, last_error=None)
                )
                outcome.settled.append(key)
            else:
                connection.execute(sa.update(table).where(table.c.id == key).values(last_error=error))
                outcome.failed[key] = error


def _handle(bus: MessageBus[Any], data: bytes) -> str | None:
    """Run the message through the service's handler as a push would; why it failed, or None."""
    try:
        envelope = Envelope.model_validate_json(data)
    except ValidationError:
        return "undecodable: not an envelope"
    try:
        bus.handle(envelope)
    except ValidationError:
        return f"invalid payload for {envelope.type}"
    except UnknownMessageType as unknown:
        return f"unknown message type {unknown}"
    except NoHandler as missing:
        return f"no handler here for {missing}"
    except Exception as failure:  # the handler's own failure: kept for staff, logged with its trace
        log.exception("dead letter redrive failed")
        return f"{type(failure).__name__}: {str(failure)[:300]}"
    return None


def _audit(engine: Engine, table: sa.Table, actor: audit.Actor | None, action: str, reason: str, done: Settled) -> None:
    with Session(engine) as session, session.begin():
        entry = audit.write(
            session,
            table,
            actor,
            action,
            "dead-letters",
            reason=reason,
            result={"settled": done.settled, "failed": sorted(done.failed), "not_held": done.not_held},
        )
    if entry is not None:
        audit.announce([entry])
