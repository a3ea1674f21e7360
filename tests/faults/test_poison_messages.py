"""Messages that can never be handled are dead-lettered after bounded attempts, counted,
and hold up nothing else."""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal

from google.cloud import pubsub_v1

from mercado_devtools.pubsub import provision
from mercado_devtools.stack import LocalStack
from mercado_devtools.testing.helpers import FAST_DEAD_LETTERS, eventually
from mercado_shared.contracts import Envelope, PaymentType, ReleaseCredit, ReserveCredit
from mercado_shared.messaging.publisher import OutgoingMessage, PubSubPublisher
from mercado_shared.platform_auth import SharedSecret
from mercado_shared.topology import Topology
from tests.e2e.conftest import Api

TOPIC = ReserveCredit.TYPE


def counter(api: Api, outcome: str) -> float:
    text = api.client.get(api.url("cliente-service", "/metrics")).text
    pattern = rf'messages_handled_total\{{outcome="{outcome}",service="cliente-service",type="([^"]+)"\}} (\S+)'
    return sum(float(value) for _, value in re.findall(pattern, text))


def test_poison_is_dead_lettered_counted_and_blocks_nothing(api: Api, fault_stack: LocalStack) -> None:
    # Projects of the test's own on the same emulator and service, one per poison message
    # (the emulator paces retries per subscription), with a short policy: five attempts,
    # a second apart at most, instead of production's ten.
    os.environ["PUBSUB_EMULATOR_HOST"] = fault_stack.emulator_host
    endpoint = {"cliente-service": fault_stack.url("cliente-service")}
    customer, me = api.new_customer(balance=1000)
    before = {outcome: counter(api, outcome) for outcome in ("rejected", "failed", "handled")}

    good = ReserveCredit(
        transaction_id=str(uuid.uuid4()),
        customer_id=customer["id"],
        amount=Decimal("100.00"),
        payment_type=PaymentType.CASH,
    )
    unknown = Envelope.wrap(good).model_copy(update={"type": "commands.credit.launder"})
    failing = Envelope.wrap(good.model_copy(update={"transaction_id": "nul\u0000in the id"}))
    poison = [
        OutgoingMessage(TOPIC, b"\x00 not an envelope", {"type": "?"}),
        OutgoingMessage(TOPIC, unknown.model_dump_json().encode(), unknown.attributes()),
        OutgoingMessage(TOPIC, failing.model_dump_json().encode(), failing.attributes()),
    ]
    projects = [f"poison-{uuid.uuid4().hex[:8]}" for _ in poison]
    for project, message in zip(projects, poison, strict=True):
        provision(fault_stack.emulator_host, project, endpoint, policy=FAST_DEAD_LETTERS)
        publisher = PubSubPublisher(
            project, signer=SharedSecret(fault_stack.platform_secret).sign
        )  # a bug, not a forger
        assert publisher.publish([message]) == [True]
        if project == projects[-1]:  # the good message shares a subscription with a poison one
            sent = Envelope.wrap(good)
            assert publisher.publish([OutgoingMessage(TOPIC, sent.model_dump_json().encode(), sent.attributes())])
            release = Envelope.wrap(
                ReleaseCredit(**good.model_dump(include={"transaction_id", "customer_id", "payment_type"}))
            )
        publisher.close()

    # The good message is handled at once, poison or not.
    eventually(lambda: _check(api.customer(me)["account_balance"] == 900), timeout=20)

    subscriber = pubsub_v1.SubscriberClient()
    received: list[bytes] = []

    def dead_lettered() -> None:
        for project in projects:
            subscription = subscriber.subscription_path(project, Topology.dead_letter_subscription("cliente-service"))
            response = subscriber.pull(subscription=subscription, max_messages=10, return_immediately=True, timeout=5)
            if response.received_messages:
                subscriber.acknowledge(
                    subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages]
                )
            received.extend(m.message.data for m in response.received_messages)
        assert len(received) >= len(poison), (
            f"{len(received)} dead-lettered so far; rejected {counter(api, 'rejected') - before['rejected']},"
            f" failed {counter(api, 'failed') - before['failed']}"
        )

    try:
        eventually(dead_lettered, timeout=90, interval=0.5)
    finally:
        subscriber.close()
    assert sorted(received) == sorted(m.data for m in poison)
    assert (
        counter(api, "rejected") - before["rejected"] >= 2 * FAST_DEAD_LETTERS.max_delivery_attempts
    )  # both, every attempt
    assert counter(api, "failed") - before["failed"] >= FAST_DEAD_LETTERS.max_delivery_attempts  # the failing handler
    assert counter(api, "handled") - before["handled"] >= 1

    # The test's own hold goes back, so the invariants hold afterwards.
    publisher = PubSubPublisher(projects[-1], signer=SharedSecret(fault_stack.platform_secret).sign)
    publisher.publish([OutgoingMessage(release.type, release.model_dump_json().encode(), release.attributes())])
    publisher.close()
    eventually(lambda: _check(api.customer(me)["account_balance"] == 1000), timeout=20)


def _check(condition: bool) -> None:
    assert condition
