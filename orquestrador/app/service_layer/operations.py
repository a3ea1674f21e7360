"""Staff's operations on purchases: search them, read one's whole story, act on it.

Every action goes through ``decide`` like any other input — staff cannot put a saga in a
state the table does not allow — and is written to the audit log in the transaction that
applies it, with who, why and what came of it; the timeline shows it beside the inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.adapters.participants import Participants
from app.adapters.repository import HistoryEntry, PurchaseFilter, StoredSaga
from app.domain import saga
from app.domain.saga import CurrentStep, SagaInput, SagaStatus
from app.service_layer.coordinator import Coordinator
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared.errors import Conflict, NotFound
from mercado_shared.retries import transaction_retries


def stored_steps(reported: CurrentStep) -> frozenset[str]:
    """The names a step reported as ``reported`` is stored under, in every version."""
    names = {s.name for d in saga.DEFINITIONS.values() for s in d.steps if s.reported_as is reported}
    return frozenset(names or {reported.value})  # SAGA_COMPLETE, COMPENSATION_COMPLETE: stored as such


def search(
    uow: OrquestradorUnitOfWork, wanted: PurchaseFilter, before: tuple[datetime, str] | None, limit: int
) -> tuple[list[StoredSaga], dict[SagaStatus, int], tuple[datetime, str] | None]:
    with uow:
        page, totals = uow.sagas.search(wanted, before, limit + 1)
    more, page = len(page) > limit, page[:limit]
    following = (page[-1].created_at, page[-1].state.transaction_id) if more else None
    return page, totals, following


# ---------------------------------------------------------------- one purchase
@dataclass(frozen=True)
class StepView:
    """One step of the purchase's definition, as the diagram draws it."""

    name: str
    reported_as: CurrentStep
    kind: str
    command: str | None
    compensation: str | None
    state: str  # done | current | stopped (where compensation began) | pending | not reached
    compensation_state: str | None  # awaited | done | None (nothing to undo, or not undone)


def steps_of(stored: StoredSaga, history: list[HistoryEntry]) -> list[StepView]:
    state = stored.state
    definition = saga.definition_of(state)
    heard = {h.event for h in history if h.applied}
    at = definition.index.get(state.step)
    views = []
    for i, step in enumerate(definition.steps):
        if state.status is SagaStatus.COMPLETED:
            progress = "done"
        elif at is None:  # ended by compensating: how far it got is what was undone or refused
            progress = "done" if step.success.TYPE in heard else "not reached"
        elif i < at:
            progress = "done"
        elif i == at:
            progress = "stopped" if state.status is SagaStatus.COMPENSATING else "current"
        else:
            progress = "pending"
        compensated_by = step.compensated_by.TYPE if step.compensated_by else None
        undone = None
        if step.name in state.awaiting_compensations:
            undone = "awaited"
        elif compensated_by is not None and compensated_by in heard:
            undone = "done"
        views.append(
            StepView(
                name=step.name,
                reported_as=step.reported_as,
                kind=step.kind.value,
                command=step.command(state).TYPE if step.command else None,
                compensation=step.compensation(state).TYPE if step.compensation else None,
                state=progress,
                compensation_state=undone,
            )
        )
    return views


@dataclass(frozen=True)
class Timeline:
    stored: StoredSaga
    steps: list[StepView]
    entries: list[dict[str, Any]]  # inputs and staff actions, in time order
    messages: dict[str, dict[str, Any]]  # service → its outbox and inbox rows for the purchase
    participants: dict[str, dict[str, Any]]  # service → its records (or why it did not answer)


def timeline(uow: OrquestradorUnitOfWork, participants: Participants, transaction_id: str) -> Timeline:
    with uow:
        found = uow.sagas.get_with_history(transaction_id)
        if found is None:
            raise NotFound("PURCHASE_NOT_FOUND", "no such purchase")
        stored, history = found
        actions = uow.sagas.actions(transaction_id)
        own = uow.sagas.messages(transaction_id)
    elsewhere = participants.transaction(transaction_id)  # found: a UUID, safe in a path
    entries: list[dict[str, Any]] = [
        {
            "at": h.at,
            "kind": "input",
            "name": h.event,
            "applied": h.applied,
            "status": h.status,
            "current_step": h.current_step,
            "commands": list(h.commands),
            "attempt": h.attempt,
            "deadline_at": h.deadline_at,
        }
        for h in history
    ]
    entries += [
        {
            "at": a["at"],
            "kind": "action",
            "name": a["action"],
            "actor": a["actor"],
            "reason": a["details"].get("reason"),
            "result": a["details"].get("result"),
        }
        for a in actions
    ]
    entries.sort(key=lambda e: (e["at"], e["kind"] == "input"))  # an action before the input it caused
    messages = {"orquestrador": own} | {
        service: {box: answer.get(box, []) for box in ("outbox", "inbox", "dead_letters")}
        for service, answer in elsewhere.items()
    }
    records = {
        service: {"records": answer["records"]} if "records" in answer else {"unavailable": answer.get("unavailable")}
        for service, answer in elsewhere.items()
    }
    return Timeline(stored, steps_of(stored, history), entries, messages, records)


# ---------------------------------------------------------------- actions
@dataclass(frozen=True)
class StaffAction:
    make: Callable[[], SagaInput]  # the input it feeds decide
    audited_as: str
    refusal: tuple[str, str]  # code and message when decide has nothing to do with it


ACTIONS = {
    "resend": StaffAction(
        saga.ResendRequested, "purchase.step_resent", ("NOTHING_TO_RESEND", "no command is awaiting an answer")
    ),
    "cancel": StaffAction(
        lambda: saga.CancelRequested(by_staff=True),
        "purchase.cancelled",
        ("NOT_CANCELLABLE", "it has ended or is already being undone"),
    ),
    "resolve": StaffAction(
        saga.ResolvedByStaff,
        "purchase.resolved_by_hand",
        ("NOT_COMPENSATING", "only a purchase whose compensation has not completed can be resolved by hand"),
    ),
}


def take(
    coordinator: Coordinator, uow: OrquestradorUnitOfWork, transaction_id: str, action: str, reason: str
) -> saga.Decision:
    """Staff's ``action`` (a key of ACTIONS) on the purchase, with why: fed to ``decide``, and
    audited with its result in the same transaction; refused (409) when the saga has nothing
    to do with it (it ended, or is not where the action applies)."""
    chosen = ACTIONS[action]
    for attempt in transaction_retries(8):  # a reply that changed the saga first: decide again
        with attempt, uow:
            stored = uow.sagas.get(transaction_id)
            if stored is None:
                raise NotFound("PURCHASE_NOT_FOUND", "no such purchase")
            decision = coordinator.act(uow, stored, chosen.make())
            if not decision.applied:
                code, message = chosen.refusal
                raise Conflict(code, f"{message} (the purchase is {stored.state.status.value})")
            result = {
                "status": decision.state.status.value,
                "step": decision.state.step,
                "commands": [c.TYPE for c in decision.commands],
            }
            uow.audit(
                chosen.audited_as, transaction_id, reason=reason, customer_id=stored.state.customer_id, result=result
            )
            uow.commit()
            return decision
    raise AssertionError("transaction_retries raises its last failure")
