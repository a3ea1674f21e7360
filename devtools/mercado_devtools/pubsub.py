"""The official Pub/Sub emulator, and the shared topology provisioned on it.

``python -m mercado_devtools.pubsub provision --endpoint service=URL ...`` is the one-shot
provisioning job of docker compose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from mercado_devtools.processes import MissingDependency, http_ok, spawn, stop_process, wait_until
from mercado_shared.topology import SubscriptionPolicy, Topology, load_topology

log = logging.getLogger("devstack")

EMULATOR_PACKAGE = "google-cloud-cli-pubsub-emulator"
EMULATOR_LAUNCHER = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"


def emulator_launcher() -> str:
    for candidate in (
        os.environ.get("PUBSUB_EMULATOR_BIN"),
        shutil.which("cloud-pubsub-emulator"),
        EMULATOR_LAUNCHER,
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise MissingDependency(
        f"the Pub/Sub emulator is not installed: install the Debian package {EMULATOR_PACKAGE} "
        "(from Google Cloud's apt repository) or set PUBSUB_EMULATOR_BIN"
    )


# The emulator is glue between sockets: C1's quick compiles and the serial collector suit
# it. On this 2-core box they halve its CPU per message (1.29 → 0.70 ms, 3,000 pushes) and
# leave its rate unchanged. CLOUD_PUBSUB_EMULATOR_OPTS in the environment overrides them.
EMULATOR_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class PubSubEmulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_file: IO[Any] | None = None) -> None:
        if shutil.which("java") is None:
            raise MissingDependency("java not found: the Pub/Sub emulator needs Java 17 (openjdk-17-jre-headless)")
        self.proc = spawn(
            [emulator_launcher(), "--host=127.0.0.1", f"--port={self.port}"],
            env={"CLOUD_PUBSUB_EMULATOR_OPTS": EMULATOR_JVM_OPTIONS, **os.environ},
            output=log_file if log_file is not None else subprocess.DEVNULL,
        )

        def up() -> bool:
            assert self.proc is None or self.proc.poll() is None, f"the emulator exited with {self.proc.returncode}"
            return http_ok(f"http://{self.host}/")

        wait_until(up, timeout=90, what="Pub/Sub emulator", interval=0.2)

    def stop(self) -> None:
        stop_process(self.proc)


def provision(
    emulator_host: str,
    project_id: str,
    endpoints: Mapping[str, str],
    topology: Topology | None = None,
    policy: SubscriptionPolicy | None = None,
) -> None:
    """Create the topology's topics and subscriptions; push to ``endpoints[service]``.

    ``policy`` replaces the retry and dead-letter numbers (the fault tests shorten them so
    that a poison message is dead-lettered in seconds); names and wiring never change.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1

    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    topology = topology or load_topology()
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        for topic in [*topology.topics, *topology.dead_letter_topics()]:
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=publisher.topic_path(project_id, topic))
        for service in topology.services:
            dead = publisher.topic_path(project_id, topology.dead_letter_topic(service))
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(
                    name=subscriber.subscription_path(project_id, topology.dead_letter_subscription(service)),
                    topic=dead,
                )
            if service in endpoints:  # each dead letter is kept by its service, for staff
                with contextlib.suppress(AlreadyExists):
                    subscriber.create_subscription(
                        request={
                            "name": subscriber.subscription_path(
                                project_id, topology.dead_letter_store_subscription(service)
                            ),
                            "topic": dead,
                            "push_config": {
                                "push_endpoint": endpoints[service].rstrip("/") + topology.DEAD_LETTER_PUSH_PATH
                            },
                            "ack_deadline_seconds": 60,
                            "retry_policy": {
                                "minimum_backoff": timedelta(seconds=10),
                                "maximum_backoff": timedelta(seconds=600),
                            },
                        }
                    )
        for sub in topology.subscriptions():
            if sub.service not in endpoints:
                continue
            p = policy or sub.policy
            request = {
                "name": subscriber.subscription_path(project_id, sub.name),
                "topic": publisher.topic_path(project_id, sub.topic),
                "push_config": {"push_endpoint": endpoints[sub.service].rstrip("/") + sub.push_path},
                "ack_deadline_seconds": p.ack_deadline_seconds,
                "dead_letter_policy": {
                    "dead_letter_topic": publisher.topic_path(project_id, sub.dead_letter_topic),
                    "max_delivery_attempts": p.max_delivery_attempts,
                },
                "retry_policy": {
                    "minimum_backoff": timedelta(seconds=p.minimum_backoff_seconds),
                    "maximum_backoff": timedelta(seconds=p.maximum_backoff_seconds),
                },
            }
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(request=request)
    finally:
        subscriber.close()
        publisher.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m mercado_devtools.pubsub provision``: the one-shot provisioning step of
    docker compose (topics, subscriptions, dead letters) from the shared topology."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mercado_devtools.pubsub")
    commands = parser.add_subparsers(dest="command", required=True)
    prov = commands.add_parser("provision")
    prov.add_argument("--emulator-host", default=os.environ.get("PUBSUB_EMULATOR_HOST"), required=False)
    prov.add_argument("--project", default=os.environ.get("PUBSUB_PROJECT_ID", "mercado-veiculo-local"))
    prov.add_argument("--endpoint", action="append", default=[], help="service=http://host:port", required=True)
    args = parser.parse_args(argv)
    if not args.emulator_host:
        parser.error("set --emulator-host or PUBSUB_EMULATOR_HOST")
    endpoints = dict(e.split("=", 1) for e in args.endpoint)
    unknown = set(endpoints) - set(load_topology().services)
    if unknown:
        parser.error(f"unknown services: {sorted(unknown)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    provision(args.emulator_host, args.project, endpoints)
    log.info("provisioned %s topics for %s", len(load_topology().topics), ", ".join(sorted(endpoints)))


if __name__ == "__main__":
    main()
