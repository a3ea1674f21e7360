"""A message that failed every attempt waits on hold; once the fault is fixed, replay
sends it back to its consumer, and leaves alone what is not that service's."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal

from fastapi import FastAPI, Request, Response
from google.cloud import pubsub_v1

from mercado_devtools.pubsub import provision
from mercado_devtools.testing.helpers import FAST_DEAD_LETTERS, eventually, serve
from mercado_shared import deadletters
from mercado_shared.contracts import Envelope, PaymentType, ReserveCredit
from mercado_shared.topology import load_topology


def test_a_dead_letter_is_replayed_to_its_consumer_once_the_fault_is_fixed(emulator_host: str, project_id: str) -> None:
    state: dict[str, object] = {"broken": True, "handled": []}
    app = FastAPI()

    @app.post("/pubsub/push")
    async def push(request: Request) -> Response:
        if state["broken"]:
            return Response(status_code=503)
        body = json.loads(await request.body())
        envelope = Envelope.model_validate_json(base64.b64decode(body["message"]["data"]))
        state["handled"].append(str(envelope.message_id))  # type: ignore[attr-defined]
        return Response(status_code=204)

    envelope = Envelope.wrap(
        ReserveCredit(
            transaction_id=str(uuid.uuid4()),
            customer_id=str(uuid.uuid4()),
            amount=Decimal("10"),
            payment_type=PaymentType.CASH,
        )
    )
    publisher = pubsub_v1.PublisherClient()
    with serve(app) as url:
        provision(emulator_host, project_id, {"cliente-service": url}, policy=FAST_DEAD_LETTERS)
        topic = publisher.topic_path(project_id, envelope.type)
        publisher.publish(topic, envelope.model_dump_json().encode(), **envelope.attributes()).result(timeout=30)
        foreign = publisher.topic_path(project_id, load_topology().dead_letter_topic("cliente-service"))
        publisher.publish(foreign, b"{}", type="events.vehicle.sold", message_id="not-ours").result(timeout=30)

        def on_hold() -> list[tuple[str, str, int]]:
            seen = deadletters.peek(project_id, "cliente-service").seen
            assert any(mid == str(envelope.message_id) for _, mid, _ in seen), seen
            return seen

        held = eventually(on_hold, timeout=60)
        attempts = next(n for _, mid, n in held if mid == str(envelope.message_id))
        assert attempts >= FAST_DEAD_LETTERS.max_delivery_attempts and state["handled"] == []

        state["broken"] = False  # the fault is fixed
        report = deadletters.replay(project_id, "cliente-service")
        assert report.replayed == [str(envelope.message_id)] and report.held == ["not-ours"]

        def handled() -> None:
            assert state["handled"] == [str(envelope.message_id)]

        eventually(handled, timeout=30)
        assert [mid for _, mid, _ in deadletters.peek(project_id, "cliente-service").seen] == ["not-ours"]
    publisher.stop()
