"""Dead letters: see what failed every delivery attempt, and send it back once fixed.

    python -m mercado_shared.deadletters peek   --service cliente-service [--limit 20]
    python -m mercado_shared.deadletters replay --service cliente-service [--limit 100]

A dead-lettered message waits on ``dead-letter.{service}.hold``, with its attributes
intact (``type`` is the topic it came from). ``replay`` publishes each message again to
that topic, with the same data and attributes, and acknowledges it on the hold
subscription only once the broker has taken it. Replays are safe: every consumer records
message ids in its inbox, so a message that was in fact handled has no second effect.
Only topics the topology routes to ``service`` are replayed. Anything else stays on hold
and is reported.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from google.cloud import pubsub_v1

from mercado_shared.topology import load_topology

log = logging.getLogger(__name__)
_BROKER_ATTRIBUTES = ("CloudPubSubDeadLetterSourceDeliveryCount", "CloudPubSubDeadLetterSourceSubscription")


@dataclass
class Report:
    replayed: list[str] = field(default_factory=list)  # message ids
    held: list[str] = field(default_factory=list)  # not for this service: left on hold
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (type, message id, attempts) for peek


def _clients() -> tuple[Any, Any]:
    return pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()


def peek(project: str, service: str, limit: int = 20) -> Report:
    """What is on hold, without taking it off (the lease is dropped at once)."""
    _, subscriber = _clients()
    report = Report()
    hold = subscriber.subscription_path(project, load_topology().dead_letter_subscription(service))
    try:
        response = subscriber.pull(subscription=hold, max_messages=limit, timeout=10)
        for received in response.received_messages:
            attributes = dict(received.message.attributes)
            attempts = int(attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", 0))
            report.seen.append((attributes.get("type", "?"), attributes.get("message_id", "?"), attempts))
        if response.received_messages:
            subscriber.modify_ack_deadline(
                subscription=hold, ack_ids=[m.ack_id for m in response.received_messages], ack_deadline_seconds=0
            )
    finally:
        subscriber.close()
    return report


def replay(project: str, service: str, limit: int = 100) -> Report:
    topology = load_topology()
    routed = {s.topic for s in topology.subscriptions(service)}
    publisher, subscriber = _clients()
    hold = subscriber.subscription_path(project, topology.dead_letter_subscription(service))
    report = Report()
    try:
        while len(report.replayed) + len(report.held) < limit:
            response = subscriber.pull(
                subscription=hold, max_messages=min(50, limit - len(report.replayed) - len(report.held)), timeout=10
            )
            if not response.received_messages:
                break
            done, skipped = [], []
            for received in response.received_messages:
                attributes = {k: v for k, v in received.message.attributes.items() if k not in _BROKER_ATTRIBUTES}
                topic = attributes.get("type", "")
                message_id = attributes.get("message_id", received.message.message_id)
                if topic not in routed:
                    skipped.append(received.ack_id)
                    report.held.append(message_id)
                    continue
                topic_path = publisher.topic_path(project, topic)
                publisher.publish(topic_path, received.message.data, **attributes).result(timeout=30)
                done.append(received.ack_id)
                report.replayed.append(message_id)
            if done:
                subscriber.acknowledge(subscription=hold, ack_ids=done)
            if skipped:
                subscriber.modify_ack_deadline(subscription=hold, ack_ids=skipped, ack_deadline_seconds=0)
                break  # what remains on hold is not ours to replay; do not spin on it
    finally:
        subscriber.close()
        publisher.stop()
    log.info("replayed %d dead letters of %s; %d left on hold", len(report.replayed), service, len(report.held))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mercado_shared.deadletters", description=__doc__)
    parser.add_argument("command", choices=["peek", "replay"])
    parser.add_argument("--service", required=True, choices=sorted(load_topology().services))
    parser.add_argument("--project", default=os.environ.get("PUBSUB_PROJECT_ID", "mercado-veiculo-local"))
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "peek":
        for type_, message_id, attempts in peek(args.project, args.service, args.limit).seen:
            print(f"{type_}\t{message_id}\tattempts={attempts}")
        return 0
    report = replay(args.project, args.service, args.limit)
    print(f"replayed {len(report.replayed)}; left on hold {len(report.held)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
