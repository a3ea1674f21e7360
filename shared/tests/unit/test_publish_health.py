"""/health judges Pub/Sub by the instance's own publishing, not by calling an admin API."""

from __future__ import annotations

from mercado_shared.health import OK, PublishHealth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nothing_published_yet_is_nothing_wrong() -> None:
    assert PublishHealth().status() == OK


def test_the_latest_outcome_decides() -> None:
    health = PublishHealth()
    health.finished(health.started(), ok=False)
    assert health.status() == "error: the last publish failed"
    health.finished(health.started(), ok=True)
    assert health.status() == OK


def test_a_publish_stuck_on_the_broker_is_reported_before_it_times_out() -> None:
    clock = Clock()
    health = PublishHealth(stall_after=3.0, clock=clock)
    stuck = health.started()
    clock.now += 2.0
    assert health.status() == OK  # a slow publish is not yet a broken broker
    clock.now += 2.0
    assert health.status() == "error: a publish has waited 4 s for the broker"
    health.finished(stuck, ok=True)
    assert health.status() == OK
