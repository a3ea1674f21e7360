"""Helpers for tests: poll with a deadline, serve an app on a real port, read a topic."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from google.api_core.exceptions import AlreadyExists
from google.cloud import pubsub_v1
from sqlalchemy.engine import make_url
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from mercado_devtools.processes import free_port, wait_until
from mercado_shared.contracts import Envelope
from mercado_shared.topology import SubscriptionPolicy

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Run ``check`` until it stops raising AssertionError, at most ``timeout`` seconds."""
    for attempt in Retrying(
        retry=retry_if_exception_type(AssertionError),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        reraise=True,
    ):
        with attempt:
            return check()
    raise AssertionError("unreachable")


@contextmanager
def serve(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="test server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class TopicTap:
    """A pull subscription on one topic, to see what a service published."""

    def __init__(self, project_id: str, topic: str) -> None:
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        topic_path = self.publisher.topic_path(project_id, topic)
        with suppress(AlreadyExists):
            self.publisher.create_topic(name=topic_path)
        self.subscription = self.subscriber.subscription_path(project_id, f"tap.{topic}")
        with suppress(AlreadyExists):
            self.subscriber.create_subscription(name=self.subscription, topic=topic_path)

        self.received: list[Envelope] = []

    def collect(self) -> list[Envelope]:
        """Everything received so far (pulls and acks what arrived since the last call)."""
        response = self.subscriber.pull(
            subscription=self.subscription, max_messages=100, return_immediately=True, timeout=5
        )
        if response.received_messages:
            self.subscriber.acknowledge(
                subscription=self.subscription, ack_ids=[m.ack_id for m in response.received_messages]
            )
        self.received.extend(Envelope.model_validate_json(m.message.data) for m in response.received_messages)
        return self.received

    def expect(self, count: int) -> list[Envelope]:
        """For ``eventually``: fails until ``count`` messages have arrived."""
        received = self.collect()
        assert len(received) >= count, f"{len(received)} of {count} messages so far"
        return received

    def close(self) -> None:
        self.subscriber.close()
        self.publisher.stop()


class TestClock:
    """Time the test moves by hand: ``clock.advance(seconds=1800)``."""

    __test__ = False

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# Redelivers within seconds: the suites' stacks make services fail on purpose, and wait for
# the redelivery (production waits 10 s to 10 min between attempts: topology.json).
QUICK_RETRIES = SubscriptionPolicy(
    ack_deadline_seconds=60,
    max_delivery_attempts=10,
    minimum_backoff_seconds=1,
    maximum_backoff_seconds=20,
    message_retention_seconds=604800,
)

# Dead-letters in seconds instead of minutes: the fewest attempts Pub/Sub allows, no backoff.
FAST_DEAD_LETTERS = SubscriptionPolicy(
    ack_deadline_seconds=10,
    max_delivery_attempts=5,
    minimum_backoff_seconds=0,
    maximum_backoff_seconds=1,
    message_retention_seconds=600,
)


class FreezableProxy:
    """A TCP relay to ``target`` that a test can freeze: connections stay open and nothing
    flows either way, as when a network path or a server stops answering without closing
    anything. ``url_for`` rewrites a database URL to go through it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url_for(self, database_url: str) -> str:
        url = make_url(database_url)
        return url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                self._flowing.wait()
                if self._closed.is_set():
                    break
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


# What production requires of every service's settings beside its database (the shared
# settings' validators): tests of production's refusals start from these.
PRODUCTION_SETTINGS: dict[str, Any] = {
    "jwks_url": "https://cliente.example/.well-known/jwks.json",
    "platform_auth": "oidc",
    "service_audience": "https://veiculo.example",
    "push_service_account": "pusher@example.iam.gserviceaccount.com",
    "allowed_origins": ["https://shop.example"],
    "metrics_port": 9464,
}
