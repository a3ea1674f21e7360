"""Recorded histories of the purchase saga, one folder per definition version.

    cd orquestrador && ../.venv/bin/python -m tests.saga_recordings.record

writes ``v<N>/`` for the current definition (``app.domain.saga.CURRENT``) if it is not
there yet: its fingerprint and one JSON file per scenario — every input fed to ``decide``,
and the state and commands that came out. A folder once committed is never rewritten: it
is what purchases started under that version did, and ``test_saga_versions`` replays it
through today's ``decide``, so a change that alters how an old version runs fails there.
Retire a version by deleting its folder with its entry in ``DEFINITIONS`` (docs/saga.md).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from app.domain import saga
from app.domain.saga import (
    MAX_STEP_ATTEMPTS,
    CancelRequested,
    DeadlinePassed,
    Decision,
    ResendRequested,
    ResolvedByStaff,
    SagaDefinition,
    SagaInput,
    SagaState,
    decide,
    start,
)
from mercado_shared.contracts import (
    REGISTRY,
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

HERE = Path(__file__).parent
OWN_INPUTS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (CancelRequested, DeadlinePassed, ResendRequested, ResolvedByStaff)
}
PRICE = Decimal("45900.10")
EXPIRES = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


# ------------------------------------------------------------------ encoding
def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


def encode_state(state: SagaState) -> dict[str, Any]:
    return {f.name: _plain(getattr(state, f.name)) for f in dataclasses.fields(state)}


def encode_command(command: Command) -> dict[str, Any]:
    return {"type": command.TYPE, "payload": command.model_dump(mode="json")}


def encode_input(message: SagaInput) -> dict[str, Any]:
    if isinstance(message, Event):
        return {"event": message.TYPE, "payload": message.model_dump(mode="json")}
    return {"input": type(message).__name__, "fields": {k: _plain(v) for k, v in dataclasses.asdict(message).items()}}


def decode_input(encoded: dict[str, Any]) -> SagaInput:
    if "event" in encoded:
        event = REGISTRY[encoded["event"]].model_validate(encoded["payload"])
        assert isinstance(event, Event)
        return event
    own: SagaInput = OWN_INPUTS[encoded["input"]](**encoded["fields"])
    return own


def encode_decision(decision: Decision) -> dict[str, Any]:
    return {
        "applied": decision.applied,
        "state": encode_state(decision.state),
        "commands": [encode_command(c) for c in decision.commands],
    }


# ------------------------------------------------------------------ the buyer and participants
def _answer(command: Command) -> Event:
    """What a participant answers when it does what it was asked."""
    tx = command.transaction_id
    match command:
        case ReserveCredit():
            return CreditReserved(transaction_id=tx, customer_id=command.customer_id, amount=command.amount)
        case ReserveVehicle():
            return VehicleReserved(transaction_id=tx, vehicle_id=command.vehicle_id)
        case GeneratePaymentCode():
            return PaymentCodeGenerated(transaction_id=tx, payment_code="PIX-RECORDED-1", expires_at=EXPIRES)
        case CaptureCredit():
            return CreditCaptured(transaction_id=tx, customer_id=command.customer_id, amount=PRICE)
        case MarkVehicleSold():
            return VehicleSold(
                transaction_id=tx, vehicle_id=command.vehicle_id, customer_id=command.customer_id, price=command.price
            )
        case ReleaseCredit():
            return CreditReleased(transaction_id=tx, customer_id=command.customer_id, returned=PRICE)
        case ReleaseVehicle():
            return VehicleReleased(transaction_id=tx, vehicle_id=command.vehicle_id)
        case RefundPayment():
            return PaymentRefunded(transaction_id=tx)
    raise AssertionError(f"no answer recorded for {command.TYPE}")


def _refusal(command: Command) -> Event:
    """What a participant answers when it cannot."""
    tx = command.transaction_id
    match command:
        case ReserveCredit():
            return CreditReservationFailed(
                transaction_id=tx, customer_id=command.customer_id, reason="INSUFFICIENT_FUNDS"
            )
        case ReserveVehicle():
            return VehicleReservationFailed(
                transaction_id=tx, vehicle_id=command.vehicle_id, reason="VEHICLE_UNAVAILABLE"
            )
        case GeneratePaymentCode():
            return PaymentCodeGenerationFailed(transaction_id=tx, reason="PROVIDER_REFUSED")
        case CaptureCredit():
            return CreditCaptureFailed(transaction_id=tx, customer_id=command.customer_id, reason="NO_HOLD")
        case MarkVehicleSold():
            return VehicleSaleFailed(transaction_id=tx, vehicle_id=command.vehicle_id, reason="VEHICLE_UNAVAILABLE")
    raise AssertionError(f"no refusal recorded for {command.TYPE}")


def _payment(state: SagaState, amount: Decimal = PRICE) -> PaymentProcessed:
    return PaymentProcessed(
        transaction_id=state.transaction_id, payment_id="PAY-RECORDED-1", payment_code="PIX-RECORDED-1", amount=amount
    )


class Run:
    """One purchase fed through ``decide``, every step written down."""

    def __init__(self, definition: SagaDefinition, name: str) -> None:
        ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"mercado-veiculo/recording/{name}/{part}")) for part in "tcv"]
        self.started = {"transaction_id": ids[0], "customer_id": ids[1], "vehicle_id": ids[2]}
        first = start(ids[0], ids[1], ids[2], PRICE, PaymentType.CREDIT, definition)
        self.state, self.pending = first.state, list(first.commands)
        self.record: dict[str, Any] = {
            "definition": definition.version,
            "scenario": name,
            "start": {**self.started, "amount": str(PRICE), "payment_type": PaymentType.CREDIT.value},
            "after_start": encode_decision(first),
            "steps": [],
        }

    def feed(self, message: SagaInput) -> Decision:
        decision = decide(self.state, message)
        self.record["steps"].append({"input": encode_input(message), **encode_decision(decision)})
        self.state = decision.state
        self.pending = list(decision.commands)
        return decision

    def answer_all(self) -> None:
        """Every participant asked does it (compensations included, in the order sent)."""
        for command in list(self.pending):
            self.feed(_answer(command))

    def until_status(self, status: saga.SagaStatus) -> None:
        while self.state.status is not status:
            assert self.pending, f"stalled at {self.state.step}"
            self.feed(_answer(self.pending[0]))


def scenarios(definition: SagaDefinition) -> Iterator[tuple[str, Callable[[Run], None]]]:
    def completed(run: Run) -> None:
        run.until_status(saga.SagaStatus.AWAITING_PAYMENT)
        run.feed(_payment(run.state))
        run.until_status(saga.SagaStatus.COMPLETED)
        run.feed(_answer(ReleaseVehicle(transaction_id=run.state.transaction_id, vehicle_id=run.state.vehicle_id)))

    yield "completed", completed

    for index, step in enumerate(definition.steps):
        if step.failure is None or step.command is None:
            continue

        def refused(run: Run, index: int = index) -> None:
            while definition.index[run.state.step] < index:
                run.feed(_answer(run.pending[0]))
                if run.state.status is saga.SagaStatus.AWAITING_PAYMENT:
                    run.feed(_payment(run.state))
            run.feed(_refusal(run.pending[0]))
            run.answer_all()

        yield f"refused_at_{step.name.lower()}", refused

        def cancelled(run: Run, index: int = index, by_staff: bool = index % 2 == 1) -> None:
            while definition.index[run.state.step] < index:
                run.feed(_answer(run.pending[0]))
                if run.state.status is saga.SagaStatus.AWAITING_PAYMENT:
                    run.feed(_payment(run.state))
            run.feed(CancelRequested(by_staff=by_staff))
            run.answer_all()
            run.feed(CancelRequested())  # too late: ignored

        yield f"cancelled_at_{step.name.lower()}", cancelled

    def expired(run: Run) -> None:
        run.until_status(saga.SagaStatus.AWAITING_PAYMENT)
        run.feed(ResendRequested())  # nothing to send while the buyer is to pay: ignored
        run.feed(DeadlinePassed())
        run.answer_all()
        run.feed(_payment(run.state))  # paid too late: ignored (pagamento refunds it itself)

    yield "expired", expired

    def timed_out(run: Run) -> None:
        run.feed(ResendRequested())  # staff: again now, not counted
        for _ in range(MAX_STEP_ATTEMPTS):
            run.feed(DeadlinePassed())
        run.answer_all()

    yield "participant_timed_out", timed_out

    def mismatch(run: Run) -> None:
        first = run.pending[0]
        assert isinstance(first, ReserveCredit)
        run.feed(CreditReserved(transaction_id=first.transaction_id, customer_id=first.customer_id, amount=PRICE + 1))
        run.answer_all()

    yield "amount_mismatch", mismatch

    def resolved_by_hand(run: Run) -> None:
        run.until_status(saga.SagaStatus.AWAITING_PAYMENT)
        run.feed(ResolvedByStaff())  # only a compensation that cannot complete: ignored
        run.feed(CancelRequested(by_staff=True))
        refund = [c for c in run.pending if isinstance(c, RefundPayment)]
        for command in [c for c in run.pending if not isinstance(c, RefundPayment)]:
            run.feed(_answer(command))
        run.feed(DeadlinePassed())  # the refund is asked again
        run.feed(ResendRequested())  # and again, by staff
        assert refund
        run.feed(ResolvedByStaff())

    yield "compensation_resolved_by_staff", resolved_by_hand


def record(definition: SagaDefinition) -> dict[str, dict[str, Any]]:
    recorded = {}
    for name, scenario in scenarios(definition):
        run = Run(definition, name)
        scenario(run)
        assert run.state.status.is_terminal, f"{name} did not end: {run.state}"
        recorded[name] = run.record
    return recorded


def folder(version: int) -> Path:
    return HERE / f"v{version}"


def main() -> int:
    definition = saga.CURRENT
    target = folder(definition.version)
    if target.exists():
        print(f"{target} exists: a recorded version is never rewritten (a changed table is a new version)")
        return 1
    target.mkdir()
    (target / "definition.json").write_text(
        json.dumps({"version": definition.version, "fingerprint": definition.fingerprint}, indent=2) + "\n"
    )
    for name, recorded in record(definition).items():
        (target / f"{name}.json").write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"recorded {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
