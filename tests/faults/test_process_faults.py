"""Processes that die, a broker that freezes, a database that stops — during a batch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import eventually
from mercado_shared.registry import SERVICES
from tests.e2e.conftest import Api
from tests.faults.conftest import SEED

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}
# What a killed service, a frozen broker or a stopped database can make a purchase end in,
# besides COMPLETED: a participant that did not answer in time, or a code that expired
# before its payment got through. Each buyer has the money and each car one buyer, so no
# other reason (funds, a car taken, a price changed) may ever appear.
FAULT_REASONS = {("FAILED", "PARTICIPANT_TIMEOUT"), ("EXPIRED", "PAYMENT_EXPIRED")}


class Unavailable(Exception):
    pass


def persist(call: Callable[[], httpx.Response], timeout: float = 120) -> httpx.Response:
    """What a patient client does: retry while the service is down or says 503."""
    for attempt in Retrying(
        retry=retry_if_exception_type((httpx.TransportError, Unavailable)),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.2),
        reraise=True,
    ):
        with attempt:
            response = call()
            if response.status_code == 503 or response.status_code >= 500:
                raise Unavailable(response.text)
            return response
    raise AssertionError("unreachable")


End = tuple[str, str | None]  # a purchase's final status and failure reason


def buy(api: Api, vehicle_id: str, buyer: dict[str, str]) -> End:
    """One purchase to its end; returns its final status and failure reason."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    started = persist(lambda: api.start(vehicle_id, buyer, **key))
    assert started.status_code == 202, started.text
    tx = started.json()["transaction_id"]

    def saga() -> dict[str, Any]:
        response = persist(lambda: api.client.get(api.url("orquestrador", f"/saga-states/{tx}"), headers=buyer))
        return dict(response.json())

    def reaches(statuses: set[str]) -> dict[str, Any]:
        state = saga()
        assert state["status"] in statuses, state["status"]
        return state

    state = eventually(lambda: reaches({"AWAITING_PAYMENT"} | TERMINAL), timeout=240, interval=0.1)
    if state["status"] == "AWAITING_PAYMENT":
        code = str(state["payment_code"])
        answer = persist(lambda: api.pay(code, buyer))
        assert answer.status_code in (201, 409, 410), answer.text
        state = eventually(lambda: reaches(TERMINAL), timeout=240, interval=0.1)
    return str(state["status"]), state["failure_reason"]


def run_batch(api: Api, size: int, disturb: Callable[[Callable[[], bool]], None]) -> Counter[End]:
    """``size`` purchases by 25 buyers, 10 at a time, while ``disturb`` runs in this thread.
    Each ends COMPLETED or for a reason the faults explain; the invariants (checked after
    every scenario) hold whatever the split."""
    buyers = [api.new_customer(balance=10_000 * size, credit=0)[1] for _ in range(25)]
    vehicles = [api.new_vehicle(1000 + i) for i in range(size)]
    with ThreadPoolExecutor(10) as pool:
        futures: list[Future[End]] = [
            pool.submit(buy, api, v["id"], buyers[i % len(buyers)]) for i, v in enumerate(vehicles)
        ]
        disturb(lambda: all(f.done() for f in futures))
        ends = Counter(f.result() for f in futures)
    assert sum(ends.values()) == size, ends
    assert set(ends) <= {("COMPLETED", None), *FAULT_REASONS}, ends
    return ends


def test_services_killed_at_random_moments_during_a_batch_of_purchases(api: Api, fault_stack: LocalStack) -> None:
    rng = random.Random(SEED)
    kills: Counter[str] = Counter()

    def kill_and_restart(done: Callable[[], bool]) -> None:
        victims = [s.name for s in SERVICES]
        while not done() or not all(kills[v] for v in victims):
            time.sleep(rng.uniform(0.5, 2.5))  # the fault's moment, chosen by the seeded schedule
            victim = rng.choice([v for v in victims if not kills[v]] or victims)
            fault_stack.service(victim).signal(signal.SIGKILL)
            kills[victim] += 1
            fault_stack.service(victim).restart()

    ends = run_batch(api, 100, kill_and_restart)
    print(f"\nkill -9 batch: {dict(ends)}, kills: {dict(kills)}")
    assert all(kills[s.name] >= 1 for s in SERVICES)
    assert ends[("COMPLETED", None)] >= 1, ends


def test_a_frozen_broker_and_a_stopped_database_lose_nothing(api: Api, fault_stack: LocalStack) -> None:
    health = api.url("orquestrador", "/health")
    seen_unhealthy: list[str] = []

    def outage(done: Callable[[], bool]) -> None:
        emulator = fault_stack.emulator
        assert emulator.proc is not None
        os.killpg(emulator.proc.pid, signal.SIGSTOP)
        try:
            watch_health(health, 20, seen_unhealthy, "pubsub")
        finally:
            os.killpg(emulator.proc.pid, signal.SIGCONT)
        postgres = fault_stack.postgres
        assert postgres is not None
        postgres.stop()
        try:
            watch_health(health, 10, seen_unhealthy, "database")
        finally:
            postgres.start(subprocess.DEVNULL)  # type: ignore[arg-type]

    ends = run_batch(api, 40, outage)
    print(f"\noutage batch: {dict(ends)}")
    assert "pubsub" in seen_unhealthy and "database" in seen_unhealthy


HEALTH_PROBE_INTERVAL = 0.5


def watch_health(url: str, seconds: float, seen: list[str], failing: str) -> None:
    """Keep the outage on for ``seconds`` (its length is the fault itself), probing /health
    every HEALTH_PROBE_INTERVAL to note whether it reported ``failing``."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 503 and response.json()["checks"][failing] != "ok":
                seen.append(failing)
        except httpx.HTTPError:
            pass
        time.sleep(HEALTH_PROBE_INTERVAL)
