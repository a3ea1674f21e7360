"""Versioned saga definitions: a changed table is a new version, and every version a
purchase may still run under behaves as it was recorded doing (tests/saga_recordings)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.domain import saga
from app.domain.saga import (
    CURRENT,
    DEFINITIONS,
    PURCHASE_SAGA,
    SagaDefinition,
    SagaStatus,
    UnknownSagaDefinition,
    decide,
    start,
)
from mercado_shared.contracts import (
    CreditReserved,
    PaymentType,
    ReleaseCredit,
    ReleaseVehicle,
    ReserveVehicle,
    VehicleReserved,
)
from tests.saga_recordings.record import (
    HERE,
    decode_input,
    encode_decision,
    folder,
)

RECORDINGS = sorted(p for v in DEFINITIONS for p in folder(v).glob("*.json") if p.name != "definition.json")


def test_each_supported_version_has_its_recordings_and_no_retired_one_lingers() -> None:
    recorded = {int(p.name[1:]) for p in HERE.glob("v*") if p.is_dir()}
    assert recorded == set(DEFINITIONS), "record the new version (python -m tests.saga_recordings.record)"
    for version in DEFINITIONS:
        assert len(list(folder(version).glob("*.json"))) > 1, f"v{version} has no recorded histories"


@pytest.mark.parametrize("version", sorted(DEFINITIONS))
def test_a_version_is_what_it_was_when_recorded(version: int) -> None:
    recorded = json.loads((folder(version) / "definition.json").read_text())
    assert DEFINITIONS[version].fingerprint == recorded["fingerprint"], (
        f"saga definition {version} changed after it was published. Purchases may be running under it: "
        "keep it as it was, and put the change in a new version (docs/saga.md, 'Changing the saga')."
    )


def test_new_purchases_start_under_the_table_being_edited() -> None:
    assert CURRENT.steps is PURCHASE_SAGA
    assert CURRENT.version == max(DEFINITIONS)
    decision = start("t", "c", "v", Decimal("10.00"), PaymentType.CASH)
    assert decision.state.definition == CURRENT.version


def _step_named(name: str) -> saga.Step:
    return next(s for s in PURCHASE_SAGA if s.name == name)


@pytest.mark.parametrize(
    "change",
    [
        "a field sent from another",
        "a step removed",
        "steps reordered",
        "another reply awaited",
        "a step's kind",
    ],
)
def test_the_fingerprint_sees_a_change_to_the_table(change: str) -> None:
    steps = list(PURCHASE_SAGA)
    vehicle = _step_named("VEHICLE_RESERVATION")
    at = steps.index(vehicle)
    if change == "a field sent from another":
        steps[at] = replace(
            vehicle,
            command=lambda s: ReserveVehicle(
                transaction_id=s.transaction_id, vehicle_id=s.customer_id, customer_id=s.customer_id, price=s.amount
            ),
        )
    elif change == "a step removed":
        del steps[at]
    elif change == "steps reordered":
        steps[at - 1], steps[at] = steps[at], steps[at - 1]
    elif change == "another reply awaited":
        steps[at] = replace(vehicle, success=CreditReserved)
    else:
        steps[at] = replace(vehicle, kind=saga.StepKind.RETRIABLE)
    assert SagaDefinition(CURRENT.version, tuple(steps)).fingerprint != CURRENT.fingerprint


def _comparable(decision: saga.Decision) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(encode_decision(decision)))
    return plain


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_recorded_history_replays_to_the_same_states_and_commands(recording: Path) -> None:
    recorded = json.loads(recording.read_text())
    begun = recorded["start"]
    decision = start(
        begun["transaction_id"],
        begun["customer_id"],
        begun["vehicle_id"],
        Decimal(begun["amount"]),
        PaymentType(begun["payment_type"]),
        DEFINITIONS[recorded["definition"]],
    )
    assert _comparable(decision) == recorded["after_start"]
    state = decision.state
    for number, step in enumerate(recorded["steps"], start=1):
        decision = decide(state, decode_input(step["input"]))
        expected = {k: step[k] for k in ("applied", "state", "commands")}
        assert _comparable(decision) == expected, f"step {number} ({step['input']}) of {recording.name}"
        state = decision.state
    assert state.status.is_terminal


def test_a_purchase_keeps_the_definition_it_started_under(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy brings version 2, which reserves the vehicle without holding funds first:
    the purchase started under version 1 still goes through the funds."""
    vehicle_first = tuple(s for s in PURCHASE_SAGA if s.name != "CREDIT_RESERVATION")
    vehicle_first = (replace(vehicle_first[0], status_while=SagaStatus.STARTED), *vehicle_first[1:])
    two = SagaDefinition(CURRENT.version + 1, vehicle_first)
    monkeypatch.setattr(saga, "DEFINITIONS", {**DEFINITIONS, two.version: two})

    old = start("t-old", "c", "v", Decimal("10.00"), PaymentType.CASH, CURRENT).state
    new_start = start("t-new", "c", "v", Decimal("10.00"), PaymentType.CASH, two)
    assert [c.TYPE for c in new_start.commands] == [ReserveVehicle.TYPE]
    new = new_start.state

    after_funds = decide(old, CreditReserved(transaction_id="t-old", customer_id="c", amount=Decimal("10.00")))
    assert [c.TYPE for c in after_funds.commands] == [ReserveVehicle.TYPE]
    ignored = decide(new, CreditReserved(transaction_id="t-new", customer_id="c", amount=Decimal("10.00")))
    assert not ignored.applied  # version 2 does not wait for funds
    moved = decide(new, VehicleReserved(transaction_id="t-new", vehicle_id="v"))
    assert moved.state.step == "PAYMENT_CODE_GENERATION"
    cancelled = decide(moved.state, saga.CancelRequested())
    sent = {c.TYPE for c in cancelled.commands}
    assert ReleaseVehicle.TYPE in sent and ReleaseCredit.TYPE not in sent  # no funds to release under v2


def test_a_purchase_under_a_version_this_release_lacks_is_refused_not_guessed() -> None:
    state = replace(start("t", "c", "v", Decimal("10.00"), PaymentType.CASH).state, definition=CURRENT.version + 1)
    with pytest.raises(UnknownSagaDefinition):
        decide(state, CreditReserved(transaction_id="t", customer_id="c", amount=Decimal("10.00")))
