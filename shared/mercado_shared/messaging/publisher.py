"""Publishing to Pub/Sub. With PUBSUB_EMULATOR_HOST set, the client talks to the emulator."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Protocol

from google.cloud import pubsub_v1

from mercado_shared import cloud_access

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

    def close(self, timeout: float = 10.0) -> None: ...


class PubSubPublisher:
    """``signer``: in docker compose's shared-secret mode, the signature every message
    carries in its ``platform-signature`` attribute (mercado_shared.platform_auth)."""

    def __init__(self, project_id: str, *, timeout: float = 10.0, signer: Callable[[bytes], str] | None = None) -> None:
        self.project_id = project_id
        self.timeout = timeout
        self.signer = signer
        self._closed = False
        # Small batches, short latency: a purchase waits on every hop.
        self._client = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=100, max_latency=0.002)
        )

    def topic_path(self, topic: str) -> str:
        return str(self._client.topic_path(self.project_id, topic))

    def publish(self, messages: Sequence[OutgoingMessage]) -> list[bool]:
        for topic in {m.topic for m in messages}:
            cloud_access.record(cloud_access.PUBLISH, f"topic:{topic}")
        pending = [self._client.publish(self.topic_path(m.topic), m.data, **self._attributes(m)) for m in messages]
        done, _ = futures.wait(pending, timeout=self.timeout)
        results = []
        for f in pending:
            ok = f in done and f.exception() is None
            if not ok:
                log.warning("publish failed", extra={"error": repr(f.exception(0) if f in done else "timeout")})
            results.append(ok)
        return results

    def _attributes(self, message: OutgoingMessage) -> dict[str, str]:
        if self.signer is None:
            return message.attributes
        return {**message.attributes, "platform-signature": self.signer(message.data)}

    def close(self, timeout: float = 10.0) -> None:
        """Flush the client's own batches, for at most ``timeout`` seconds (its stop blocks
        while the broker does not answer; what it had is still in the outbox)."""
        if self._closed:
            return
        self._closed = True

        def stop() -> None:
            try:
                self._client.stop()
            except Exception:  # what it still held is in the outbox, for the next sweep
                log.warning("the publisher client did not stop cleanly", exc_info=True)

        stopping = threading.Thread(target=stop, name="publisher-stop", daemon=True)
        stopping.start()
        stopping.join(timeout)
