"""Every message delivered twice, by the broker itself: the same end states."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.api_core.exceptions import AlreadyExists
from google.cloud import pubsub_v1

from mercado_devtools.stack import LocalStack
from mercado_shared.topology import load_topology
from tests.e2e.conftest import Api


@pytest.fixture
def every_message_twice(fault_stack: LocalStack) -> Iterator[None]:
    """A second push subscription on every topic, to the same service: Pub/Sub now
    delivers each message twice, at independent moments (so also out of order)."""
    os.environ["PUBSUB_EMULATOR_HOST"] = fault_stack.emulator_host
    subscriber, project = pubsub_v1.SubscriberClient(), fault_stack.config.project_id
    extra = []
    for sub in load_topology().subscriptions():
        name = subscriber.subscription_path(project, f"{sub.name}.again")
        endpoint = fault_stack.url(sub.service) + sub.push_path
        with contextlib.suppress(AlreadyExists):
            subscriber.create_subscription(
                name=name,
                topic=f"projects/{project}/topics/{sub.topic}",
                push_config={"push_endpoint": endpoint},
                ack_deadline_seconds=sub.policy.ack_deadline_seconds,
            )
        extra.append(name)
    try:
        yield
    finally:
        for name in extra:
            subscriber.delete_subscription(subscription=name)
        subscriber.close()


def test_purchases_end_the_same_when_every_message_comes_twice(api: Api, every_message_twice: None) -> None:
    buyers = [api.new_customer(balance=5000, credit=5000)[1] for _ in range(6)]
    vehicles = [api.new_vehicle(2000) for _ in range(12)]

    def completed(i: int) -> tuple[str, str]:
        buyer = buyers[i % len(buyers)]
        tx = api.purchase(vehicles[i]["id"], buyer, payment_type="cash" if i % 2 else "credit")["transaction_id"]
        saga = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT", "FAILED")
        if i % 3 == 0:  # some give up
            api.client.post(api.url("orquestrador", f"/purchase/{tx}/cancel"), headers=buyer)
        elif saga["status"] == "AWAITING_PAYMENT":
            api.pay(saga["payment_code"], buyer)
        return tx, api.saga_reaches(tx, buyer, "COMPLETED", "CANCELLED", "FAILED", "EXPIRED")["status"]

    with ThreadPoolExecutor(6) as pool:
        ends = list(pool.map(completed, range(len(vehicles))))
    for i, (_, status) in enumerate(ends):
        assert status == ("CANCELLED" if i % 3 == 0 else "COMPLETED"), (i, status)
    # Money moved once per completed purchase, never twice, whatever the duplicates.
    for b, buyer in enumerate(buyers):
        completed_here = sum(1 for i in range(len(vehicles)) if i % len(buyers) == b and i % 3)
        me = api.customer(buyer)
        assert (5000 - me["account_balance"]) + me["used_credit"] == 2000 * completed_here
