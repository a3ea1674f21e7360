"""Publishing to Pub/Sub. With PUBSUB_EMULATOR_HOST set, the client talks to the emulator."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Protocol

from google.cloud import pubsub_v1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    data: bytes
    attributes: dict[str, str]


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutgoingMessage]) -> list[bool]:
        """Publish; the result says, message by message, whether the broker accepted it."""
        ...

    def close(self) -> None: ...


class PubSubPublisher:
    def __init__(self, project_id: str, *, timeout: float = 10.0) -> None:
        self.project_id = project_id
        self.timeout = timeout
        # Small batches, short latency: a purchase waits on every hop.
        self._client = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=100, max_latency=0.002)
        )

    def topic_path(self, topic: str) -> str:
        return str(self._client.topic_path(self.project_id, topic))

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[bool]:
        pending = [self._client.publish(self.topic_path(m.topic), m.data, **m.attributes) for m in messages]
        done, _ = futures.wait(pending, timeout=self.timeout)
        results = []
        for f in pending:
            ok = f in done and f.exception() is None
            if not ok:
                log.warning("publish failed", extra={"error": repr(f.exception(0) if f in done else "timeout")})
            results.append(ok)
        return results

    def close(self) -> None:
        self._client.stop()
