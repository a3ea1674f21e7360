"""Saga state with optimistic concurrency, and its append-only history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.adapters.orm import history, idempotency_keys, messaging, sagas
from app.domain.saga import CurrentStep, SagaState, SagaStatus
from mercado_shared.contracts import PaymentType
from mercado_shared.ids import is_uuid
from mercado_shared.operations import messages_of
from mercado_shared.retries import ConcurrencyConflict


@dataclass(frozen=True)
class StoredSaga:
    state: SagaState
    version: int
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime | None = None

    def stuck(self, now: datetime) -> bool:
        """Running (only then is there a deadline), and being retried or past its deadline:
        what ``_stuck`` selects in SQL."""
        return self.deadline_at is not None and (self.state.attempts > 1 or self.deadline_at < now)


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to an Idempotency-Key, and what it answered."""

    request_hash: str
    response: dict[str, object]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    status: SagaStatus
    current_step: CurrentStep
    event: str
    applied: bool
    commands: tuple[str, ...] = ()  # the types of the commands it sent
    attempt: int | None = None  # the step's attempt those commands were
    deadline_at: datetime | None = None  # the deadline it set


def _entry(row: sa.Row[object], prefix: str = "") -> HistoryEntry:
    m = row._mapping
    return HistoryEntry(
        m[prefix + "at"],
        SagaStatus(m[prefix + "status"]),
        CurrentStep(m[prefix + "current_step"]),
        m[prefix + "event"],
        m[prefix + "applied"],
        tuple(m[prefix + "commands"] or ()),
        m[prefix + "attempt"],
        m[prefix + "deadline_at"],
    )


def _columns(state: SagaState) -> dict[str, object]:
    return {
        "customer_id": state.customer_id,
        "vehicle_id": state.vehicle_id,
        "amount": state.amount,
        "payment_type": state.payment_type,
        "status": state.status,
        "step": state.step,
        "failure_reason": state.failure_reason,
        "payment_code": state.payment_code,
        "payment_expires_at": state.payment_expires_at,
        "payment_id": state.payment_id,
        "awaiting_compensations": sorted(state.awaiting_compensations),
        "attempts": state.attempts,
        "definition": state.definition,
    }


def _stored(row: sa.Row[object]) -> StoredSaga:
    """A row of ``sagas`` (or of a query selecting all its columns), read back."""
    return StoredSaga(_state(row), row.version, row.created_at, row.updated_at, row.deadline_at)


def _state(row: sa.Row[object]) -> SagaState:
    m = row._mapping
    return SagaState(
        transaction_id=m["transaction_id"],
        customer_id=m["customer_id"],
        vehicle_id=m["vehicle_id"],
        amount=m["amount"],
        payment_type=PaymentType(m["payment_type"]),
        status=SagaStatus(m["status"]),
        step=m["step"],
        failure_reason=m["failure_reason"],
        payment_code=m["payment_code"],
        payment_expires_at=m["payment_expires_at"],
        payment_id=m["payment_id"],
        awaiting_compensations=frozenset(m["awaiting_compensations"]),
        attempts=m["attempts"],
        definition=m["definition"],
    )


@dataclass(frozen=True)
class PurchaseFilter:
    """Staff's search (GET /operations/purchases): every field given must match."""

    customer_id: str | None = None
    vehicle_id: str | None = None
    statuses: frozenset[SagaStatus] = frozenset()
    failure_reason: str | None = None
    steps: frozenset[str] = frozenset()  # as stored: a step's name, or where it ended
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    stuck_at: datetime | None = None  # running, and being retried or past its deadline then

    def conditions(self, *, with_status: bool = True) -> list[sa.ColumnElement[bool]]:
        c = sagas.c
        found: list[sa.ColumnElement[bool]] = []
        if self.customer_id is not None:
            found.append(c.customer_id == self.customer_id)
        if self.vehicle_id is not None:
            found.append(c.vehicle_id == self.vehicle_id)
        if with_status and self.statuses:
            found.append(c.status.in_(sorted(self.statuses)))
        if self.failure_reason is not None:
            found.append(c.failure_reason == self.failure_reason)
        if self.steps:
            found.append(c.step.in_(sorted(self.steps)))
        if self.created_from is not None:
            found.append(c.created_at >= self.created_from)
        if self.created_to is not None:
            found.append(c.created_at < self.created_to)
        if self.stuck_at is not None:
            found.append(_stuck(self.stuck_at))
        return found


# Only a running saga has a deadline; it is stuck when it is being retried or past it.
_RUNNING = sagas.c.deadline_at.is_not(None)


def _stuck(at: datetime) -> sa.ColumnElement[bool]:
    """StoredSaga.stuck, in SQL."""
    return sa.and_(_RUNNING, sa.or_(sagas.c.attempts > 1, sagas.c.deadline_at < at))


# Every reply the saga applies runs these three. Built once and executed with fresh
# parameters, they skip SQLAlchemy's construction and cache-key work on every message.
_GET = sa.select(sagas).where(sagas.c.transaction_id == sa.bindparam("transaction_id"))
_UPDATE = (
    sa.update(sagas)
    .where(sagas.c.transaction_id == sa.bindparam("b_transaction_id"), sagas.c.version == sa.bindparam("b_version"))
    .values(updated_at=sa.func.now())
)  # SET also takes every column named in the parameters
_RECORD = sa.insert(history)


class SagaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, state: SagaState, deadline: datetime | None) -> None:
        self.session.execute(
            sa.insert(sagas).values(
                transaction_id=state.transaction_id, version=1, deadline_at=deadline, **_columns(state)
            )
        )

    def get(self, transaction_id: str) -> StoredSaga | None:
        if not is_uuid(transaction_id):
            return None
        row = self.session.execute(_GET, {"transaction_id": transaction_id}).first()
        if row is None:
            return None
        return _stored(row)

    def get_with_history(self, transaction_id: str) -> tuple[StoredSaga, list[HistoryEntry]] | None:
        """The saga and its history in one round trip (what a buyer following it reads)."""
        if not is_uuid(transaction_id):
            return None
        rows = self.session.execute(
            sa.select(sagas, *(c.label("h_" + c.name) for c in history.c if c.name not in ("id", "transaction_id")))
            .select_from(sagas.outerjoin(history, history.c.transaction_id == sagas.c.transaction_id))
            .where(sagas.c.transaction_id == transaction_id)
            .order_by(history.c.id)
        ).all()
        if not rows:
            return None
        first = rows[0]
        stored = _stored(first)
        entries = [_entry(r, "h_") for r in rows if r.h_event is not None]
        return stored, entries

    def lock_customer(self, customer_id: str) -> None:
        """Until this transaction ends, other starts for this customer wait (the active cap)."""
        self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(customer_id))))

    def active_count(self, customer_id: str) -> int:
        query = sa.select(sa.func.count()).where(sagas.c.customer_id == customer_id, _RUNNING)
        return int(self.session.scalar(query) or 0)

    def census(self, now: datetime) -> tuple[dict[str, int], int]:
        """Purchases by status, and how many running ones are stuck (retried or overdue)."""
        rows = self.session.execute(sa.select(sagas.c.status, sa.func.count()).group_by(sagas.c.status)).all()
        by_status: dict[str, int] = {str(status): int(count) for status, count in rows}
        stuck = self.session.scalar(sa.select(sa.func.count()).select_from(sagas).where(_stuck(now)))
        return by_status, int(stuck or 0)

    def completed_per_hour(self, since: datetime) -> list[tuple[datetime, int]]:
        """Purchases completed in each hour since ``since`` (the hour they last changed in)."""
        hour = sa.func.date_trunc("hour", sagas.c.updated_at)
        rows = self.session.execute(
            sa.select(hour, sa.func.count())
            .where(sagas.c.status == SagaStatus.COMPLETED, sagas.c.updated_at >= since)
            .group_by(hour)
            .order_by(hour)
        ).all()
        return [(at, int(n)) for at, n in rows]

    def due(self, now: datetime, limit: int) -> list[str]:
        """Running sagas whose deadline has passed, oldest deadline first."""
        return list(
            self.session.scalars(
                sa.select(sagas.c.transaction_id)
                .where(sagas.c.deadline_at <= now)
                .order_by(sagas.c.deadline_at)
                .limit(limit)
            )
        )

    def update(self, state: SagaState, expected_version: int, deadline: datetime | None) -> None:
        """Write ``state`` if nobody has since ``expected_version``; else ConcurrencyConflict."""
        result = self.session.execute(
            _UPDATE,
            {
                "b_transaction_id": state.transaction_id,
                "b_version": expected_version,
                "version": expected_version + 1,
                "deadline_at": deadline,
                **_columns(state),
            },
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflict(state.transaction_id)

    def append_history(
        self,
        state: SagaState,
        event: str,
        *,
        applied: bool,
        commands: Sequence[str] = (),
        deadline: datetime | None = None,
    ) -> None:
        """One line of the saga's history: the input, whether it applied, the state after,
        and what it made the saga do (the commands sent, at which attempt; the deadline set)."""
        self.session.execute(
            _RECORD,
            {
                "transaction_id": state.transaction_id,
                "status": state.status,
                "current_step": state.current_step,
                "event": event,
                "applied": applied,
                "commands": list(commands),
                "attempt": state.attempts if commands else None,
                "deadline_at": deadline,
            },
        )

    def history(self, transaction_id: str) -> list[HistoryEntry]:
        rows = self.session.execute(
            sa.select(history).where(history.c.transaction_id == transaction_id).order_by(history.c.id)
        )
        return [_entry(r) for r in rows]

    def _newest(self, wanted: PurchaseFilter, before: tuple[datetime, str] | None, limit: int) -> list[StoredSaga]:
        """Newest first, ties by id; ``before`` is the last item of the previous page."""
        query = sa.select(sagas).where(*wanted.conditions())
        if before is not None:
            query = query.where(sa.tuple_(sagas.c.created_at, sagas.c.transaction_id) < sa.tuple_(*before))
        rows = self.session.execute(
            query.order_by(sagas.c.created_at.desc(), sagas.c.transaction_id.desc()).limit(limit)
        ).all()
        return [_stored(r) for r in rows]

    def page(
        self, wanted: PurchaseFilter, before: tuple[datetime, str] | None, limit: int
    ) -> tuple[list[StoredSaga], int]:
        """A page of what matches, and how many match in all."""
        total = self.session.scalar(sa.select(sa.func.count()).select_from(sagas).where(*wanted.conditions()))
        return self._newest(wanted, before, limit), int(total or 0)

    def actions(self, transaction_id: str) -> list[dict[str, Any]]:
        """What staff did to the purchase (its audit log entries), oldest first."""
        audit = messaging.audit
        rows = self.session.execute(sa.select(audit).where(audit.c.subject == transaction_id).order_by(audit.c.id))
        return [dict(r._mapping) for r in rows]

    def messages(self, transaction_id: str) -> dict[str, Any]:
        """The purchase's messages in the orchestrator's outbox and inbox."""
        return messages_of(self.session.connection(), messaging, transaction_id)

    def search(
        self, wanted: PurchaseFilter, before: tuple[datetime, str] | None, limit: int
    ) -> tuple[list[StoredSaga], dict[SagaStatus, int]]:
        """A page of what matches, newest first, and how many match in each status (every
        filter but the status applied: the counts beside each status of the filter)."""
        counted = self.session.execute(
            sa.select(sagas.c.status, sa.func.count())
            .where(*wanted.conditions(with_status=False))
            .group_by(sagas.c.status)
        ).all()
        totals = {status: 0 for status in SagaStatus} | {SagaStatus(s): int(n) for s, n in counted}
        return self._newest(wanted, before, limit), totals


_ENDED = [s for s in SagaStatus if s.is_terminal]


def _count(result: sa.Result[Any]) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


class ArchiveRepository:
    """Finished purchases, read for the archive and then purged (app.service_layer.archive)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _finished(cutoff: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(sagas.c.deadline_at.is_(None), sagas.c.status.in_(_ENDED), sagas.c.updated_at < cutoff)

    def finished_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Purchases that ended before ``cutoff``, the longest ended first."""
        return list(
            self.session.scalars(
                sa.select(sagas.c.transaction_id)
                .where(self._finished(cutoff))
                .order_by(sagas.c.updated_at, sagas.c.transaction_id)
                .limit(limit)
            )
        )

    def records(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Each purchase whole: its row, its history, and what staff did to it (the audit
        log keeps its own copy: it is never purged)."""
        audit = messaging.audit
        rows = self.session.execute(sa.select(sagas).where(sagas.c.transaction_id.in_(ids)))
        purchases = {r.transaction_id: dict(r._mapping) for r in rows}
        lived: dict[str, list[dict[str, Any]]] = {i: [] for i in purchases}
        acted: dict[str, list[dict[str, Any]]] = {i: [] for i in purchases}
        for row in self.session.execute(
            sa.select(history).where(history.c.transaction_id.in_(ids)).order_by(history.c.id)
        ):
            lived[row.transaction_id].append({k: v for k, v in row._mapping.items() if k != "transaction_id"})
        for row in self.session.execute(sa.select(audit).where(audit.c.subject.in_(ids)).order_by(audit.c.id)):
            acted[row.subject].append(dict(row._mapping))
        found = {i: {"purchase": p, "history": lived[i], "staff_actions": acted[i]} for i, p in purchases.items()}
        return [found[i] for i in ids if i in found]

    def purge(self, ids: Sequence[str], cutoff: datetime) -> dict[str, int]:
        """Delete the purchases with their history, idempotency keys and sent messages, in
        the caller's transaction. Only what is still finished before ``cutoff`` goes (the
        archive read it so); an unsent outbox row is never deleted."""
        outbox, inbox = messaging.outbox, messaging.inbox
        # saga_history refuses deletes but the archive's (orquestrador migration 0016).
        self.session.execute(sa.text("SET LOCAL mercado.archiving = 'on'"))
        gone = list(
            self.session.scalars(
                sa.select(sagas.c.transaction_id)
                .where(sagas.c.transaction_id.in_(ids), self._finished(cutoff))
                .with_for_update()
            )
        )
        correlation = outbox.c.attributes["correlation_id"].as_string()
        statements = {  # children first: the keys and the history refer to the purchase
            "idempotency_keys": sa.delete(idempotency_keys).where(idempotency_keys.c.transaction_id.in_(gone)),
            "saga_history": sa.delete(history).where(history.c.transaction_id.in_(gone)),
            "outbox": sa.delete(outbox).where(correlation.in_(gone), outbox.c.published_at.is_not(None)),
            "inbox": sa.delete(inbox).where(inbox.c.correlation_id.in_(gone)),
            "saga_states": sa.delete(sagas).where(sagas.c.transaction_id.in_(gone)),
        }
        return {table: _count(self.session.execute(statement)) for table, statement in statements.items()}


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, principal: str, key: str) -> StoredAnswer | None:
        row = self.session.execute(
            sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
                idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
            )
        ).first()
        return StoredAnswer(row.request_hash, row.response) if row else None

    def claim(
        self, principal: str, key: str, request_hash: str, transaction_id: str, response: dict[str, object]
    ) -> bool:
        """Record the answer to ``key``; False if another request recorded one first.

        A concurrent request with the same key waits on the primary key until the first
        one's transaction ends, then finds its row: only one purchase starts.
        """
        claimed = self.session.execute(
            insert(idempotency_keys)
            .values(
                principal=principal,
                key=key,
                request_hash=request_hash,
                transaction_id=transaction_id,
                response=response,
            )
            .on_conflict_do_nothing(index_elements=[idempotency_keys.c.principal, idempotency_keys.c.key])
            .returning(idempotency_keys.c.key)
        ).first()
        return claimed is not None
