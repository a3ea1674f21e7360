"""Typed view of ``topology.json`` and the names derived from it.

Terraform derives the same names with the same patterns (``{service}.{topic}`` for a
subscription, ``dead-letter.{service}`` for a dead-letter topic); a test checks both agree.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

TOPOLOGY_FILE = "topology.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceSpec(_Frozen):
    push_path: str = Field(pattern=r"^/")


class SubscriptionPolicy(_Frozen):
    ack_deadline_seconds: int = Field(ge=10, le=600)
    max_delivery_attempts: int = Field(ge=5, le=100)
    minimum_backoff_seconds: int = Field(ge=0, le=600)
    maximum_backoff_seconds: int = Field(ge=0, le=600)
    message_retention_seconds: int = Field(ge=600, le=604800)


class TopicSpec(_Frozen):
    producer: str
    consumers: tuple[str, ...] = Field(min_length=1)


class Subscription(_Frozen):
    name: str
    topic: str
    service: str
    push_path: str
    dead_letter_topic: str
    policy: SubscriptionPolicy


class Topology(_Frozen):
    comment: str = ""
    services: dict[str, ServiceSpec]
    subscription_defaults: SubscriptionPolicy
    topics: dict[str, TopicSpec]

    @model_validator(mode="after")
    def _consumers_are_services(self) -> Topology:
        for topic, spec in self.topics.items():
            if len(topic) < 3:
                raise ValueError(f"topic id {topic!r} is shorter than Pub/Sub allows")
            unknown = {spec.producer, *spec.consumers} - set(self.services)
            if unknown:
                raise ValueError(f"topic {topic} names unknown services {unknown}")
        return self

    @staticmethod
    def subscription_name(service: str, topic: str) -> str:
        return f"{service}.{topic}"

    @staticmethod
    def dead_letter_topic(service: str) -> str:
        return f"dead-letter.{service}"

    # How long a dead letter waits in its hold subscription for an operator (Pub/Sub's maximum).
    DEAD_LETTER_RETENTION_SECONDS: ClassVar[int] = 604800

    @staticmethod
    def dead_letter_subscription(service: str) -> str:
        return f"dead-letter.{service}.hold"

    @staticmethod
    def dead_letter_store_subscription(service: str) -> str:
        """Pushes each dead letter to the service, which keeps it for staff
        (mercado_shared.messaging.dead_letters)."""
        return f"dead-letter.{service}.store"

    DEAD_LETTER_PUSH_PATH: ClassVar[str] = "/pubsub/dead-letters"

    def dead_letter_topics(self) -> list[str]:
        return [self.dead_letter_topic(s) for s in self.services]

    def subscriptions(self, service: str | None = None) -> list[Subscription]:
        return [
            Subscription(
                name=self.subscription_name(consumer, topic),
                topic=topic,
                service=consumer,
                push_path=self.services[consumer].push_path,
                dead_letter_topic=self.dead_letter_topic(consumer),
                policy=self.subscription_defaults,
            )
            for topic, spec in self.topics.items()
            for consumer in spec.consumers
            if service is None or consumer == service
        ]

    def topics_consumed_by(self, service: str) -> set[str]:
        return {s.topic for s in self.subscriptions(service)}


@cache
def load_topology() -> Topology:
    text = resources.files("mercado_shared").joinpath(TOPOLOGY_FILE).read_text()
    return Topology.model_validate(json.loads(text))
