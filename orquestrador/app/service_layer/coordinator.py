"""The saga, run: decide() bound to its deadline policy, its clock and its store.

Every input — a participant's reply, a cancel, a passed deadline — goes through the same
lines: load the saga, ``decide``, store the new state (a version check guards against a
concurrent writer) with its next deadline and a history entry; the caller sends the
decision's commands through the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from app.adapters.repository import StoredSaga
from app.domain.deadlines import DeadlinePolicy
from app.domain.saga import DeadlinePassed, Decision, SagaInput, SagaState, SagaStatus, decide, input_name
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared import metrics
from mercado_shared.clock import Clock
from mercado_shared.contracts import PurchaseEnded
from mercado_shared.retries import transaction_retries

log = logging.getLogger(__name__)

SWEEP_BATCH = 100


def ended(state: SagaState) -> PurchaseEnded:
    """What the buyer hears of a purchase's end (cliente-service mails it). A payment made
    before a purchase that did not complete was refunded by its compensation, which ends
    before the saga does."""
    refunded = state.amount if state.payment_id and state.status is not SagaStatus.COMPLETED else Decimal("0")
    return PurchaseEnded(
        transaction_id=state.transaction_id,
        customer_id=state.customer_id,
        vehicle_id=state.vehicle_id,
        amount=state.amount,
        status=state.status.value,
        failure_reason=state.failure_reason,
        payment_id=state.payment_id,
        refunded=refunded,
    )


def _types(decision: Decision) -> list[str]:
    return [command.TYPE for command in decision.commands]


@dataclass(frozen=True)
class Coordinator:
    policy: DeadlinePolicy
    clock: Clock

    def begin(self, uow: OrquestradorUnitOfWork, decision: Decision) -> None:
        """Store a new saga, its first entry and its first commands (the caller commits)."""
        deadline = self.policy.deadline(decision.state, self.clock())
        uow.sagas.add(decision.state, deadline)
        uow.sagas.append_history(
            decision.state, "PurchaseRequested", applied=True, commands=_types(decision), deadline=deadline
        )
        self._send(uow, decision)

    def apply(self, uow: OrquestradorUnitOfWork, transaction_id: str, message: SagaInput) -> Decision | None:
        """Decide on a participant's reply and store the outcome in ``uow``; None if no such
        saga. The bus sends the decision's commands, as replies to that message."""
        stored = uow.sagas.get(transaction_id)
        return None if stored is None else self._decide(uow, stored, message)

    def act(self, uow: OrquestradorUnitOfWork, stored: StoredSaga, message: SagaInput) -> Decision:
        """Decide on an input of our own (a cancel, a passed deadline), store the outcome and
        send its commands (the caller commits)."""
        decision = self._decide(uow, stored, message)
        self._send(uow, decision)
        return decision

    @staticmethod
    def _send(uow: OrquestradorUnitOfWork, decision: Decision) -> None:
        """A decision's commands go to the outbox in the transaction that stores it: both
        are committed, or neither."""
        for command in decision.commands:
            uow.emit(command)

    def _decide(self, uow: OrquestradorUnitOfWork, stored: StoredSaga, message: SagaInput) -> Decision:
        decision = decide(stored.state, message)
        deadline = None
        if decision.applied:
            now = self.clock()
            deadline = self.policy.deadline(decision.state, now)
            uow.sagas.update(decision.state, stored.version, deadline)
            if decision.state.step != stored.state.step:
                elapsed = (now - stored.updated_at).total_seconds()
                metrics.SAGA_STEP_DURATION.labels(stored.state.step).observe(max(0.0, elapsed))
            if decision.state.status != stored.state.status:
                metrics.SAGA_TRANSITIONS.labels(decision.state.status.value).inc()
                if decision.state.status.is_terminal:  # once: a terminal saga decides nothing more
                    uow.emit(ended(decision.state))
        else:
            log.info("ignored: the saga has moved on", extra={"event": input_name(message)})
        uow.sagas.append_history(
            decision.state, input_name(message), applied=decision.applied, commands=_types(decision), deadline=deadline
        )
        return decision

    def sweep(self, uow_factory: Callable[[], OrquestradorUnitOfWork]) -> int:
        """Act on every saga whose deadline has passed. Safe to run on several instances at
        once: a saga another sweeper (or a reply) got to first is no longer due."""
        now = self.clock()
        with uow_factory() as uow:
            due = uow.sagas.due(now, SWEEP_BATCH)
        acted = 0
        for transaction_id in due:
            for attempt in transaction_retries(5):
                with attempt, uow_factory() as uow:
                    stored = uow.sagas.get(transaction_id)
                    if stored is None or stored.deadline_at is None or stored.deadline_at > now:
                        break
                    self.act(uow, stored, DeadlinePassed())
                    uow.commit()
                    acted += 1
        if acted:  # a participant did not answer in time: what the stuck-purchases alert counts
            log.warning("purchases past their deadline", extra={"count": acted, "alert": "purchase_stuck"})
        return acted
