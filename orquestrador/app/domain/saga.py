"""The purchase saga: a table of steps and a pure ``decide(state, message)``.

    CREDIT_RESERVATION ──► VEHICLE_RESERVATION ──► PAYMENT_CODE_GENERATION ──► PAYMENT_PROCESSING
      ReserveCredit          ReserveVehicle          GeneratePaymentCode         (the buyer pays)
      ↺ ReleaseCredit        ↺ ReleaseVehicle        ↺ RefundPayment
                                                                                   │
                          COMPLETED ◄── MARK_VEHICLE_AS_SOLD ◄── PAYMENT_PROCESSING (capture)
                                          MarkVehicleSold          CaptureCredit

Each step sends one command (or waits for the outside world) and advances on its success
reply. A failure reply, a cancel or the payment deadline turns the saga COMPENSATING:
every step that may have acted is undone at once — its compensation undoes whatever its
participant did for this transaction (a hold or a capture, a reservation or a sale not yet
final, an open code or a payment) — and once every compensation has answered, the saga
ends FAILED, CANCELLED or EXPIRED. A reply the saga no longer waits for is ignored.

``decide`` does no I/O and reads no clock: the orchestrator persists its result, appends
it to the history and publishes its commands through the outbox, in one transaction.

The table is versioned. Every purchase records the version of the definition it started
under (``SagaState.definition``) and ``decide`` runs it under that one, so a deploy that
changes the table leaves the purchases already running on the path they started on.
``PURCHASE_SAGA`` is the table new purchases start under; ``DEFINITIONS`` keeps every
version some purchase may still run under. Changing the table means a new version: the
fingerprint test fails otherwise (docs/saga.md, "Changing the saga").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import TypeAlias

from mercado_shared.contracts import (
    CaptureCredit,
    Command,
    CreditCaptured,
    CreditCaptureFailed,
    CreditReleased,
    CreditReservationFailed,
    CreditReserved,
    Event,
    GeneratePaymentCode,
    MarkVehicleSold,
    PaymentCodeGenerated,
    PaymentCodeGenerationFailed,
    PaymentProcessed,
    PaymentRefunded,
    PaymentType,
    RefundPayment,
    ReleaseCredit,
    ReleaseVehicle,
    ReserveCredit,
    ReserveVehicle,
    VehicleReleased,
    VehicleReservationFailed,
    VehicleReserved,
    VehicleSaleFailed,
    VehicleSold,
)


class SagaStatus(StrEnum):
    STARTED = "STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in (SagaStatus.COMPLETED, SagaStatus.FAILED, SagaStatus.CANCELLED, SagaStatus.EXPIRED)


class CurrentStep(StrEnum):
    CREDIT_RESERVATION = "CREDIT_RESERVATION"
    VEHICLE_RESERVATION = "VEHICLE_RESERVATION"
    PAYMENT_CODE_GENERATION = "PAYMENT_CODE_GENERATION"
    PAYMENT_PROCESSING = "PAYMENT_PROCESSING"
    MARK_VEHICLE_AS_SOLD = "MARK_VEHICLE_AS_SOLD"
    SAGA_COMPLETE = "SAGA_COMPLETE"
    COMPENSATION_COMPLETE = "COMPENSATION_COMPLETE"


class FailureReason(StrEnum):
    CUSTOMER_CANCELLED = "CUSTOMER_CANCELLED"
    STAFF_CANCELLED = "STAFF_CANCELLED"
    PAYMENT_EXPIRED = "PAYMENT_EXPIRED"
    PARTICIPANT_TIMEOUT = "PARTICIPANT_TIMEOUT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"


MAX_STEP_ATTEMPTS = 5  # sends of one step's command before the saga gives up and compensates


class StepKind(StrEnum):
    COMPENSATABLE = "compensatable"  # may be undone
    PIVOT = "pivot"  # the buyer's payment: the point the purchase commits to
    RETRIABLE = "retriable"  # after the pivot: retried until it succeeds


# ------------------------------------------------------------------------------ state
@dataclass(frozen=True)
class SagaState:
    transaction_id: str
    customer_id: str
    vehicle_id: str
    amount: Decimal
    payment_type: PaymentType
    status: SagaStatus
    step: str
    definition: int  # the version of the saga definition it started under, and runs under
    failure_reason: str | None = None
    payment_code: str | None = None
    payment_expires_at: datetime | None = None
    payment_id: str | None = None
    awaiting_compensations: frozenset[str] = field(default_factory=frozenset)
    attempts: int = 1  # sends of the current command (or of the compensations awaited)

    @property
    def current_step(self) -> CurrentStep:
        found = definition_of(self).by_name.get(self.step)
        return found.reported_as if found else CurrentStep(self.step)


# ------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class CancelRequested:
    """The buyer (or staff, ``by_staff``) asked to cancel."""

    by_staff: bool = False


@dataclass(frozen=True)
class ResendRequested:
    """Staff asked to send the current step's command (or the awaited compensations) again
    now, without waiting for the deadline. It does not count toward the step's attempts."""


@dataclass(frozen=True)
class ResolvedByStaff:
    """A compensation that cannot complete was done by hand: staff say so, and the saga ends."""


@dataclass(frozen=True)
class DeadlinePassed:
    """The saga's deadline passed: the payment code's, or the wait for a participant's answer."""


SagaInput: TypeAlias = Event | CancelRequested | DeadlinePassed | ResendRequested | ResolvedByStaff


def input_name(message: SagaInput) -> str:
    return message.TYPE if isinstance(message, Event) else type(message).__name__


@dataclass(frozen=True)
class Decision:
    state: SagaState
    commands: tuple[Command, ...] = ()
    applied: bool = True  # False: the message was recorded and ignored


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Step:
    name: str
    reported_as: CurrentStep
    kind: StepKind
    success: type[Event]
    failure: type[Event] | None = None
    command: Callable[[SagaState], Command] | None = None  # None: waits for the outside world
    compensation: Callable[[SagaState], Command] | None = None
    compensated_by: type[Event] | None = None
    status_while: SagaStatus = SagaStatus.IN_PROGRESS
    take_in: Callable[[SagaState, Event], SagaState] = lambda state, _: state  # what the reply carries
    # False: the success reply is not for what the saga asked (another amount); the step
    # may have acted on it, so it is undone with every step before it.
    agrees: Callable[[SagaState, Event], bool] = lambda state, _: True


def _same_amount(state: SagaState, event: Event) -> bool:
    """A participant that held or took another amount than the purchase's did not do this step."""
    assert isinstance(event, CreditReserved | PaymentProcessed)
    return event.amount == state.amount


def _take_in_code(state: SagaState, event: Event) -> SagaState:
    assert isinstance(event, PaymentCodeGenerated)
    return replace(state, payment_code=event.payment_code, payment_expires_at=event.expires_at)


def _take_in_payment(state: SagaState, event: Event) -> SagaState:
    assert isinstance(event, PaymentProcessed)
    return replace(state, payment_id=event.payment_id)


PURCHASE_SAGA: tuple[Step, ...] = (
    Step(
        name="CREDIT_RESERVATION",
        reported_as=CurrentStep.CREDIT_RESERVATION,
        kind=StepKind.COMPENSATABLE,
        status_while=SagaStatus.STARTED,
        command=lambda s: ReserveCredit(
            transaction_id=s.transaction_id, customer_id=s.customer_id, amount=s.amount, payment_type=s.payment_type
        ),
        success=CreditReserved,
        failure=CreditReservationFailed,
        compensation=lambda s: ReleaseCredit(
            transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=s.payment_type
        ),
        compensated_by=CreditReleased,
        agrees=_same_amount,
    ),
    Step(
        name="VEHICLE_RESERVATION",
        reported_as=CurrentStep.VEHICLE_RESERVATION,
        kind=StepKind.COMPENSATABLE,
        command=lambda s: ReserveVehicle(
            transaction_id=s.transaction_id, vehicle_id=s.vehicle_id, customer_id=s.customer_id, price=s.amount
        ),
        success=VehicleReserved,
        failure=VehicleReservationFailed,
        compensation=lambda s: ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id),
        compensated_by=VehicleReleased,
    ),
    Step(
        name="PAYMENT_CODE_GENERATION",
        reported_as=CurrentStep.PAYMENT_CODE_GENERATION,
        kind=StepKind.COMPENSATABLE,
        command=lambda s: GeneratePaymentCode(
            transaction_id=s.transaction_id, customer_id=s.customer_id, amount=s.amount
        ),
        success=PaymentCodeGenerated,
        failure=PaymentCodeGenerationFailed,
        compensation=lambda s: RefundPayment(
            transaction_id=s.transaction_id, customer_id=s.customer_id, amount=s.amount
        ),
        compensated_by=PaymentRefunded,
        take_in=_take_in_code,
    ),
    Step(
        name="PAYMENT_PROCESSING",
        reported_as=CurrentStep.PAYMENT_PROCESSING,
        kind=StepKind.PIVOT,
        status_while=SagaStatus.AWAITING_PAYMENT,
        success=PaymentProcessed,
        take_in=_take_in_payment,
        agrees=_same_amount,
    ),
    Step(
        name="FUNDS_CAPTURE",
        reported_as=CurrentStep.PAYMENT_PROCESSING,
        kind=StepKind.RETRIABLE,
        command=lambda s: CaptureCredit(transaction_id=s.transaction_id, customer_id=s.customer_id),
        success=CreditCaptured,
        failure=CreditCaptureFailed,
    ),
    Step(
        name="MARK_VEHICLE_AS_SOLD",
        reported_as=CurrentStep.MARK_VEHICLE_AS_SOLD,
        kind=StepKind.RETRIABLE,
        command=lambda s: MarkVehicleSold(
            transaction_id=s.transaction_id, vehicle_id=s.vehicle_id, customer_id=s.customer_id, price=s.amount
        ),
        success=VehicleSold,
        failure=VehicleSaleFailed,
    ),
)

_TERMINAL_FOR = {
    FailureReason.CUSTOMER_CANCELLED.value: SagaStatus.CANCELLED,
    FailureReason.STAFF_CANCELLED.value: SagaStatus.CANCELLED,
    FailureReason.PAYMENT_EXPIRED.value: SagaStatus.EXPIRED,
}


# ------------------------------------------------------------------------------ versions
@dataclass(frozen=True)
class SagaDefinition:
    """One version of the table. A published version never changes: a purchase may be
    running under it for as long as its payment code lives, and longer if it is stuck."""

    version: int
    steps: tuple[Step, ...]

    @cached_property
    def by_name(self) -> Mapping[str, Step]:
        return {step.name: step for step in self.steps}

    @cached_property
    def index(self) -> Mapping[str, int]:
        return {step.name: i for i, step in enumerate(self.steps)}

    def replies(self) -> set[type[Event]]:
        """Every event this version waits for: the orchestrator subscribes to all of them."""
        return {e for s in self.steps for e in (s.success, s.failure, s.compensated_by) if e is not None}

    @cached_property
    def fingerprint(self) -> str:
        """What the table does, hashed: each step's name, kind, statuses, the replies it
        waits for, and the command and compensation it sends (type and payload, built from
        a sample state whose fields all differ, so a field mapped from another changes it).
        The functions a step applies to its reply are named, not run."""
        sample = SagaState(
            transaction_id="transaction",
            customer_id="customer",
            vehicle_id="vehicle",
            amount=Decimal("1234.56"),
            payment_type=PaymentType.CREDIT,
            status=SagaStatus.STARTED,
            step=self.steps[0].name,
            definition=self.version,
            payment_code="code",
            payment_expires_at=datetime(2000, 1, 1, tzinfo=UTC),
            payment_id="payment",
        )

        def sent(build: Callable[[SagaState], Command] | None) -> object:
            if build is None:
                return None
            command = build(sample)
            return {"type": command.TYPE, "version": command.VERSION, "payload": command.model_dump(mode="json")}

        def named(kind: type[Event] | None) -> str | None:
            return None if kind is None else kind.TYPE

        table = [
            {
                "name": s.name,
                "reported_as": s.reported_as.value,
                "kind": s.kind.value,
                "status_while": s.status_while.value,
                "success": named(s.success),
                "failure": named(s.failure),
                "compensated_by": named(s.compensated_by),
                "command": sent(s.command),
                "compensation": sent(s.compensation),
                "take_in": s.take_in.__qualname__,
                "agrees": s.agrees.__qualname__,
            }
            for s in self.steps
        ]
        text = json.dumps({"steps": table, "max_step_attempts": MAX_STEP_ATTEMPTS}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class UnknownSagaDefinition(LookupError):
    """A purchase started under a version this code does not have (a rollback past the
    release that brought it: docs/saga.md, "Changing the saga")."""


# Every version a purchase may still run under. A change to PURCHASE_SAGA is a new version:
# keep the old table here, frozen, until no purchase runs under it.
DEFINITIONS: Mapping[int, SagaDefinition] = {1: SagaDefinition(1, PURCHASE_SAGA)}
CURRENT = DEFINITIONS[max(DEFINITIONS)]


def definition_of(state: SagaState) -> SagaDefinition:
    try:
        return DEFINITIONS[state.definition]
    except KeyError:
        raise UnknownSagaDefinition(f"saga definition {state.definition} is not known to this release") from None


def replies() -> set[type[Event]]:
    """Every reply any supported version waits for."""
    return set().union(*(d.replies() for d in DEFINITIONS.values()))


# ------------------------------------------------------------------------------ decide
def start(
    transaction_id: str,
    customer_id: str,
    vehicle_id: str,
    amount: Decimal,
    payment_type: PaymentType,
    definition: SagaDefinition = CURRENT,
) -> Decision:
    first = definition.steps[0]
    state = SagaState(
        transaction_id=transaction_id,
        customer_id=customer_id,
        vehicle_id=vehicle_id,
        amount=amount,
        payment_type=payment_type,
        status=first.status_while,
        step=first.name,
        definition=definition.version,
    )
    assert first.command is not None
    return Decision(state, (first.command(state),))


def decide(state: SagaState, message: SagaInput) -> Decision:
    if state.status.is_terminal:
        return Decision(state, applied=False)
    if isinstance(message, CancelRequested):
        if state.status is SagaStatus.COMPENSATING:
            return Decision(state, applied=False)
        cancelled = FailureReason.STAFF_CANCELLED if message.by_staff else FailureReason.CUSTOMER_CANCELLED
        return _compensate(state, cancelled, including_current=True)
    if isinstance(message, DeadlinePassed):
        return _on_deadline(state)
    if isinstance(message, ResendRequested):
        return _resend(state)
    if isinstance(message, ResolvedByStaff):
        if state.status is not SagaStatus.COMPENSATING:
            return Decision(state, applied=False)
        return Decision(_ended(replace(state, awaiting_compensations=frozenset())))
    if state.status is SagaStatus.COMPENSATING:
        return _on_compensated(state, message)
    step = definition_of(state).by_name[state.step]
    if isinstance(message, step.success):
        taken_in = step.take_in(state, message)
        if not step.agrees(state, message):
            return _compensate(taken_in, FailureReason.AMOUNT_MISMATCH, including_current=True)
        return _advance(taken_in, step)
    if step.failure is not None and isinstance(message, step.failure):
        reason = str(getattr(message, "reason", "STEP_FAILED"))
        return _compensate(state, reason, including_current=False)
    return Decision(state, applied=False)


def _compensations(state: SagaState) -> tuple[Command, ...]:
    """The compensations the saga still awaits, to send (again)."""
    awaited = [s for s in definition_of(state).steps if s.name in state.awaiting_compensations]
    return tuple(s.compensation(state) for s in awaited if s.compensation is not None)


def _on_deadline(state: SagaState) -> Decision:
    """Unpaid at the deadline: undo everything. No answer in time: send the (idempotent)
    command again, and after MAX_STEP_ATTEMPTS give up and compensate. Compensations
    are sent again for as long as it takes: they must complete."""
    if state.status is SagaStatus.AWAITING_PAYMENT:
        return _compensate(state, FailureReason.PAYMENT_EXPIRED, including_current=True)
    if state.status is SagaStatus.COMPENSATING:
        return Decision(replace(state, attempts=state.attempts + 1), _compensations(state))
    step = definition_of(state).by_name[state.step]
    if step.command is not None and state.attempts < MAX_STEP_ATTEMPTS:
        return Decision(replace(state, attempts=state.attempts + 1), (step.command(state),))
    return _compensate(state, FailureReason.PARTICIPANT_TIMEOUT, including_current=True)


def _resend(state: SagaState) -> Decision:
    """Staff's "send it again now": the same idempotent command(s) as a deadline would send,
    without spending an attempt (the saga does not give up sooner for it). Nothing to send
    while the buyer is to pay: ignored."""
    if state.status is SagaStatus.COMPENSATING:
        return Decision(state, _compensations(state))
    step = definition_of(state).by_name[state.step]
    if step.command is None:
        return Decision(state, applied=False)
    return Decision(state, (step.command(state),))


def _advance(state: SagaState, done: Step) -> Decision:
    definition = definition_of(state)
    following = definition.index[done.name] + 1
    if following == len(definition.steps):
        return Decision(replace(state, status=SagaStatus.COMPLETED, step=CurrentStep.SAGA_COMPLETE.value))
    step = definition.steps[following]
    state = replace(state, status=step.status_while, step=step.name, attempts=1)
    return Decision(state, (step.command(state),) if step.command else ())


def _compensate(state: SagaState, reason: str, *, including_current: bool) -> Decision:
    """Undo, all at once, every step that may have acted, then wait for their answers.

    ``including_current``: the current step's command may be in flight or done (a cancel,
    a deadline), so it is undone too; after a failure reply its participant did nothing.
    """
    definition = definition_of(state)
    upto = definition.index[state.step] + (1 if including_current else 0)
    to_undo = [s for s in reversed(definition.steps[:upto]) if s.compensation is not None]
    state = replace(state, failure_reason=reason)
    if not to_undo:
        return Decision(_ended(state))
    commands = tuple(s.compensation(state) for s in to_undo if s.compensation is not None)
    awaiting = frozenset(s.name for s in to_undo)
    compensating = replace(state, status=SagaStatus.COMPENSATING, awaiting_compensations=awaiting, attempts=1)
    return Decision(compensating, commands)


def _on_compensated(state: SagaState, message: SagaInput) -> Decision:
    by_name = definition_of(state).by_name
    for name in sorted(state.awaiting_compensations):
        if isinstance(message, by_name[name].compensated_by or ()):
            awaiting = state.awaiting_compensations - {name}
            state = replace(state, awaiting_compensations=awaiting)
            return Decision(_ended(state) if not awaiting else state)
    return Decision(state, applied=False)


def _ended(state: SagaState) -> SagaState:
    status = _TERMINAL_FOR.get(state.failure_reason or "", SagaStatus.FAILED)
    return replace(state, status=status, step=CurrentStep.COMPENSATION_COMPLETE.value)
