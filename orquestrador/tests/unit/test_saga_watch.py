"""Who a saga change wakes: a waiter on any change, or one waiting for given statuses
only when the saga reaches one of them or ends. A possibly missed change wakes all."""

from __future__ import annotations

import asyncio

from app.adapters.saga_watch import SagaWatcher


def woken_by(payload: str | None) -> set[str]:
    async def scenario() -> set[str]:
        watcher = SagaWatcher("postgresql+psycopg2://nobody@127.0.0.1:1/none")  # never started
        async with (
            watcher.watching("tx-1") as any_change,
            watcher.watching("tx-1", {"AWAITING_PAYMENT"}) as awaiting_code,
            watcher.watching("tx-1", {"COMPLETED"}) as completed,
            watcher.watching("tx-2") as other_purchase,
        ):
            watcher._wake(payload)
            await asyncio.sleep(0)  # the wake is scheduled on the loop; let it run
            events = {
                "any": any_change,
                "awaiting": awaiting_code,
                "completed": completed,
                "other": other_purchase,
            }
            return {name for name, event in events.items() if event.is_set()}

    return asyncio.run(scenario())


def test_a_step_on_the_way_wakes_only_who_waits_for_any_change() -> None:
    assert woken_by("tx-1 IN_PROGRESS") == {"any"}


def test_reaching_a_status_wakes_who_waits_for_it() -> None:
    assert woken_by("tx-1 AWAITING_PAYMENT") == {"any", "awaiting"}


def test_an_ended_purchase_wakes_everyone_waiting_on_it() -> None:
    assert woken_by("tx-1 CANCELLED") == {"any", "awaiting", "completed"}


def test_a_payload_without_status_wakes_everyone_waiting_on_it() -> None:
    assert woken_by("tx-1") == {"any", "awaiting", "completed"}  # a notifier from before 0007


def test_a_possibly_missed_change_wakes_everyone() -> None:
    assert woken_by(None) == {"any", "awaiting", "completed", "other"}
