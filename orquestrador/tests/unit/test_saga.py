"""decide(): every transition of the happy path, the failures, cancel, expiry, stale replies.

Each test reads: given a saga at some point → the command it sends → a reply → the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.domain.saga import (
    MAX_STEP_ATTEMPTS,
    PURCHASE_SAGA,
    CancelRequested,
    CurrentStep,
    DeadlinePassed,
    Decision,
    SagaState,
    SagaStatus,
    StepKind,
    decide,
    start,
)
from mercado_shared.contracts import (
    CaptureCredit,
    CreditCaptured,
    CreditReleased,
    CreditReservationFailed,
    CreditReserved,
    GeneratePaymentCode,
    MarkVehicleSold,
    PaymentCodeGenerated,
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
    VehicleSold,
)

PRICE = Decimal("45900.10")
EXPIRES = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def started() -> Decision:
    return start(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), PRICE, PaymentType.CASH)


# ---------------------------------------------------------------- replies, by the saga's own ids
def credit_reserved(s: SagaState) -> CreditReserved:
    return CreditReserved(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=s.amount)


def vehicle_reserved(s: SagaState) -> VehicleReserved:
    return VehicleReserved(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id)


def code_generated(s: SagaState) -> PaymentCodeGenerated:
    return PaymentCodeGenerated(transaction_id=s.transaction_id, payment_code="MVCODE", expires_at=EXPIRES)


def payment_processed(s: SagaState) -> PaymentProcessed:
    return PaymentProcessed(transaction_id=s.transaction_id, payment_id="pay-1", payment_code="MVCODE", amount=s.amount)


def credit_captured(s: SagaState) -> CreditCaptured:
    return CreditCaptured(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=s.amount)


def vehicle_sold(s: SagaState) -> VehicleSold:
    return VehicleSold(
        transaction_id=s.transaction_id, vehicle_id=s.vehicle_id, customer_id=s.customer_id, price=s.amount
    )


def credit_released(s: SagaState) -> CreditReleased:
    return CreditReleased(transaction_id=s.transaction_id, customer_id=s.customer_id)


def vehicle_released(s: SagaState) -> VehicleReleased:
    return VehicleReleased(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id)


def payment_refunded(s: SagaState) -> PaymentRefunded:
    return PaymentRefunded(transaction_id=s.transaction_id)


HAPPY_REPLIES = [credit_reserved, vehicle_reserved, code_generated, payment_processed, credit_captured, vehicle_sold]


def run(state: SagaState, *replies: object) -> Decision:
    decision = Decision(state)
    for reply in replies:
        decision = decide(decision.state, reply(decision.state))  # type: ignore[operator]
        assert decision.applied
    return decision


def only(decision: Decision) -> object:
    assert len(decision.commands) == 1, decision.commands
    return decision.commands[0]


# ---------------------------------------------------------------- the happy path
def test_start_holds_the_funds_first(started: Decision) -> None:
    s = started.state
    assert (s.status, s.current_step) == (SagaStatus.STARTED, CurrentStep.CREDIT_RESERVATION)
    assert only(started) == ReserveCredit(
        transaction_id=s.transaction_id, customer_id=s.customer_id, amount=PRICE, payment_type=PaymentType.CASH
    )


def test_funds_held_then_the_vehicle_is_reserved_at_the_agreed_price(started: Decision) -> None:
    d = run(started.state, credit_reserved)
    assert (d.state.status, d.state.current_step) == (SagaStatus.IN_PROGRESS, CurrentStep.VEHICLE_RESERVATION)
    assert only(d) == ReserveVehicle(
        transaction_id=d.state.transaction_id,
        vehicle_id=d.state.vehicle_id,
        customer_id=d.state.customer_id,
        price=PRICE,
    )


def test_vehicle_reserved_then_a_payment_code_is_asked_for(started: Decision) -> None:
    d = run(started.state, credit_reserved, vehicle_reserved)
    assert d.state.current_step is CurrentStep.PAYMENT_CODE_GENERATION
    assert only(d) == GeneratePaymentCode(
        transaction_id=d.state.transaction_id, customer_id=d.state.customer_id, amount=PRICE
    )


def test_code_issued_then_the_saga_awaits_payment_and_shows_the_code(started: Decision) -> None:
    d = run(started.state, credit_reserved, vehicle_reserved, code_generated)
    assert (d.state.status, d.state.current_step) == (SagaStatus.AWAITING_PAYMENT, CurrentStep.PAYMENT_PROCESSING)
    assert (d.state.payment_code, d.state.payment_expires_at) == ("MVCODE", EXPIRES)
    assert d.commands == ()  # the buyer acts next, not the saga


def test_payment_made_then_the_held_funds_are_captured(started: Decision) -> None:
    d = run(started.state, credit_reserved, vehicle_reserved, code_generated, payment_processed)
    assert (d.state.status, d.state.current_step) == (SagaStatus.IN_PROGRESS, CurrentStep.PAYMENT_PROCESSING)
    assert d.state.payment_id == "pay-1"
    assert only(d) == CaptureCredit(transaction_id=d.state.transaction_id, customer_id=d.state.customer_id)


def test_funds_captured_then_the_vehicle_is_marked_sold(started: Decision) -> None:
    d = run(started.state, *HAPPY_REPLIES[:5])
    assert d.state.current_step is CurrentStep.MARK_VEHICLE_AS_SOLD
    assert only(d) == MarkVehicleSold(
        transaction_id=d.state.transaction_id,
        vehicle_id=d.state.vehicle_id,
        customer_id=d.state.customer_id,
        price=PRICE,
    )


def test_vehicle_sold_completes_the_purchase(started: Decision) -> None:
    d = run(started.state, *HAPPY_REPLIES)
    assert (d.state.status, d.state.current_step) == (SagaStatus.COMPLETED, CurrentStep.SAGA_COMPLETE)
    assert d.commands == ()
    assert d.state.failure_reason is None


# ---------------------------------------------------------------- the two failures of the foundation
def test_insufficient_funds_fails_at_once_with_nothing_to_undo(started: Decision) -> None:
    s = started.state
    d = decide(
        s,
        CreditReservationFailed(
            transaction_id=s.transaction_id, customer_id=s.customer_id, reason="INSUFFICIENT_FUNDS"
        ),
    )
    assert (d.state.status, d.state.current_step) == (SagaStatus.FAILED, CurrentStep.COMPENSATION_COMPLETE)
    assert d.state.failure_reason == "INSUFFICIENT_FUNDS"
    assert d.commands == ()


def test_vehicle_unavailable_releases_the_held_funds_then_fails(started: Decision) -> None:
    s = run(started.state, credit_reserved).state
    d = decide(
        s,
        VehicleReservationFailed(
            transaction_id=s.transaction_id, vehicle_id=s.vehicle_id, reason="VEHICLE_UNAVAILABLE"
        ),
    )
    assert (d.state.status, d.state.failure_reason) == (SagaStatus.COMPENSATING, "VEHICLE_UNAVAILABLE")
    assert only(d) == ReleaseCredit(
        transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=PaymentType.CASH
    )
    ended = decide(d.state, credit_released(d.state))
    assert (ended.state.status, ended.state.current_step) == (SagaStatus.FAILED, CurrentStep.COMPENSATION_COMPLETE)
    assert ended.state.failure_reason == "VEHICLE_UNAVAILABLE"


# ---------------------------------------------------------------- another amount than the purchase's
def test_funds_held_for_another_amount_are_released_and_the_purchase_fails(started: Decision) -> None:
    s = started.state
    d = decide(s, credit_reserved(s).model_copy(update={"amount": PRICE - Decimal("0.01")}))
    assert (d.state.status, d.state.failure_reason) == (SagaStatus.COMPENSATING, "AMOUNT_MISMATCH")
    assert only(d) == ReleaseCredit(
        transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=PaymentType.CASH
    )
    ended = run(d.state, credit_released)
    assert (ended.state.status, ended.state.failure_reason) == (SagaStatus.FAILED, "AMOUNT_MISMATCH")


@pytest.mark.parametrize("paid", [Decimal("0.01"), PRICE - Decimal("0.01"), PRICE + Decimal("1000.00")])
def test_a_payment_of_another_amount_never_settles_the_purchase_it_is_refunded(
    started: Decision, paid: Decimal
) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved, code_generated).state
    d = decide(s, payment_processed(s).model_copy(update={"amount": paid}))
    assert (d.state.status, d.state.failure_reason) == (SagaStatus.COMPENSATING, "AMOUNT_MISMATCH")
    assert not any(isinstance(c, CaptureCredit | MarkVehicleSold) for c in d.commands)
    assert set(d.commands) == {
        RefundPayment(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=PRICE),
        ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id),
        ReleaseCredit(transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=PaymentType.CASH),
    }
    assert d.state.payment_id == "pay-1"  # the payment being refunded is on record
    ended = run(d.state, payment_refunded, vehicle_released, credit_released)
    assert (ended.state.status, ended.state.failure_reason) == (SagaStatus.FAILED, "AMOUNT_MISMATCH")


def test_the_amount_is_compared_exactly_not_by_its_written_form(started: Decision) -> None:
    s = started.state
    same = CreditReserved.model_validate(
        {"transaction_id": s.transaction_id, "customer_id": s.customer_id, "amount": "45900.1"}
    )
    assert decide(s, same).state.current_step is CurrentStep.VEHICLE_RESERVATION


# ---------------------------------------------------------------- giving up
def test_cancel_while_awaiting_payment_undoes_every_step_then_ends_cancelled(started: Decision) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved, code_generated).state
    d = decide(s, CancelRequested())
    assert d.state.status is SagaStatus.COMPENSATING
    assert set(d.commands) == {
        RefundPayment(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=PRICE),
        ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id),
        ReleaseCredit(transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=PaymentType.CASH),
    }
    d = run(d.state, payment_refunded, credit_released)
    assert d.state.status is SagaStatus.COMPENSATING  # still waiting for the vehicle
    d = run(d.state, vehicle_released)
    assert (d.state.status, d.state.failure_reason) == (SagaStatus.CANCELLED, "CUSTOMER_CANCELLED")


def test_cancel_while_a_reservation_is_in_flight_undoes_it_too(started: Decision) -> None:
    s = run(started.state, credit_reserved).state  # ReserveVehicle was sent, no answer yet
    d = decide(s, CancelRequested())
    assert ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id) in d.commands
    late = decide(d.state, vehicle_reserved(d.state))
    assert not late.applied and late.state == d.state


def test_cancel_after_payment_refunds_it(started: Decision) -> None:
    s = run(started.state, *HAPPY_REPLIES[:4]).state
    d = decide(s, CancelRequested())
    assert RefundPayment(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=PRICE) in d.commands


def test_a_late_success_never_beats_a_cancel(started: Decision) -> None:
    s = run(started.state, *HAPPY_REPLIES[:5]).state  # MarkVehicleSold in flight
    d = decide(s, CancelRequested())
    d = decide(d.state, vehicle_sold(d.state))
    assert not d.applied and d.state.status is SagaStatus.COMPENSATING
    d = run(d.state, credit_released, vehicle_released, payment_refunded)
    assert d.state.status is SagaStatus.CANCELLED


def test_nothing_changes_a_completed_purchase(started: Decision) -> None:
    s = run(started.state, *HAPPY_REPLIES).state
    for message in (CancelRequested(), DeadlinePassed(), credit_released(s)):
        d = decide(s, message)
        assert not d.applied and d.state == s and d.commands == ()


def test_the_payment_deadline_expires_an_unpaid_purchase(started: Decision) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved, code_generated).state
    d = run(decide(s, DeadlinePassed()).state, payment_refunded, vehicle_released, credit_released)
    assert (d.state.status, d.state.failure_reason) == (SagaStatus.EXPIRED, "PAYMENT_EXPIRED")


def test_once_paid_a_deadline_never_expires_the_purchase_it_presses_the_capture(started: Decision) -> None:
    s = run(started.state, *HAPPY_REPLIES[:4]).state
    d = decide(s, DeadlinePassed())
    assert d.state.status is SagaStatus.IN_PROGRESS and d.state.failure_reason is None
    assert only(d) == CaptureCredit(transaction_id=s.transaction_id, customer_id=s.customer_id)


# ---------------------------------------------------------------- stale and duplicate replies
def test_a_reply_for_another_step_is_ignored(started: Decision) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved).state
    for stale in (credit_reserved(s), vehicle_reserved(s), vehicle_sold(s)):
        d = decide(s, stale)
        assert not d.applied and d.state == s and d.commands == ()


def test_a_duplicate_compensation_reply_counts_once(started: Decision) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved, code_generated).state
    d = decide(s, CancelRequested())
    d = run(d.state, credit_released)
    again = decide(d.state, credit_released(d.state))
    assert not again.applied and again.state.status is SagaStatus.COMPENSATING


# ---------------------------------------------------------------- the table itself
def test_the_table_orders_compensatable_steps_before_the_pivot_before_retriable_ones() -> None:
    kinds = [step.kind for step in PURCHASE_SAGA]
    pivot = kinds.index(StepKind.PIVOT)
    assert set(kinds[:pivot]) == {StepKind.COMPENSATABLE}
    assert set(kinds[pivot + 1 :]) == {StepKind.RETRIABLE}
    assert all(step.compensation is not None for step in PURCHASE_SAGA if step.kind is StepKind.COMPENSATABLE)


def test_every_state_reports_a_contract_step(started: Decision) -> None:
    d = started
    seen = {d.state.current_step}
    for reply in HAPPY_REPLIES:
        d = decide(d.state, reply(d.state))
        seen.add(d.state.current_step)
    assert seen == set(CurrentStep) - {CurrentStep.COMPENSATION_COMPLETE}


def test_decide_is_pure(started: Decision) -> None:
    s = replace(started.state)
    first = decide(s, credit_reserved(s))
    second = decide(s, credit_reserved(s))
    assert first == second and s == started.state


# ---------------------------------------------------------------- participants that do not answer
def test_an_unanswered_step_is_sent_again_then_compensated(started: Decision) -> None:
    s = run(started.state, credit_reserved).state  # ReserveVehicle sent once, no answer
    sends = [only(started)]
    d = Decision(s)
    for _ in range(MAX_STEP_ATTEMPTS - 1):
        d = decide(d.state, DeadlinePassed())
        assert d.state.status is SagaStatus.IN_PROGRESS
        sends.append(only(d))
    assert sends[1:] == [
        ReserveVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id, customer_id=s.customer_id, price=PRICE)
    ] * (MAX_STEP_ATTEMPTS - 1)
    gave_up = decide(d.state, DeadlinePassed())
    assert (gave_up.state.status, gave_up.state.failure_reason) == (SagaStatus.COMPENSATING, "PARTICIPANT_TIMEOUT")
    assert set(gave_up.commands) == {
        ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id),
        ReleaseCredit(transaction_id=s.transaction_id, customer_id=s.customer_id, payment_type=PaymentType.CASH),
    }
    assert run(gave_up.state, vehicle_released, credit_released).state.status is SagaStatus.FAILED


def test_an_answer_resets_the_attempts(started: Decision) -> None:
    d = decide(started.state, DeadlinePassed())
    assert d.state.attempts == 2
    assert run(d.state, credit_reserved).state.attempts == 1


def test_unanswered_compensations_are_sent_again_for_as_long_as_it_takes(started: Decision) -> None:
    s = run(started.state, credit_reserved, vehicle_reserved, code_generated).state
    d = decide(s, CancelRequested())
    d = run(d.state, credit_released)
    for _ in range(MAX_STEP_ATTEMPTS * 2):
        d = decide(d.state, DeadlinePassed())
        assert d.state.status is SagaStatus.COMPENSATING
        assert set(d.commands) == {
            ReleaseVehicle(transaction_id=s.transaction_id, vehicle_id=s.vehicle_id),
            RefundPayment(transaction_id=s.transaction_id, customer_id=s.customer_id, amount=PRICE),
        }
    assert run(d.state, vehicle_released, payment_refunded).state.status is SagaStatus.CANCELLED
