"""The consumer entrypoint: Pub/Sub push delivery → decode → validate → dispatch → ack/nack.

Pub/Sub POSTs each message to ``push_path`` and takes a 2xx answer as the ack; anything
else is a nack, redelivered with the subscription's backoff until its dead-letter limit.
- 204: handled, or a duplicate already handled (acked either way);
- 400: the message can never be handled (not an envelope, unknown type, invalid payload,
  no handler here): nacked so that Pub/Sub dead-letters it after the bounded attempts;
- 503: the handler failed (database down, a bug): nacked, retried with backoff.
The same path runs locally, in the tests and on Cloud Run.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from mercado_shared import metrics, tracing
from mercado_shared.contracts import Envelope, UnknownMessageType
from mercado_shared.messaging.bus import MessageBus, NoHandler
from mercado_shared.platform_auth import CallerAuthenticator, CallerRefused

log = logging.getLogger(__name__)


class PushedMessage(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    message_id: str = Field(alias="messageId")


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message: PushedMessage
    subscription: str
    delivery_attempt: int | None = Field(default=None, alias="deliveryAttempt")


class Rejected(Exception):
    def __init__(self, reason: str, type_: str = "unknown") -> None:
        super().__init__(reason)
        self.reason = reason
        self.type = type_


def decode(body: bytes) -> tuple[PushRequest, Envelope]:
    try:
        request = PushRequest.model_validate_json(body)
    except ValidationError:
        raise Rejected("not_a_push_request") from None
    type_ = request.message.attributes.get("type", "unknown")
    try:
        data = base64.b64decode(request.message.data, validate=True)
        envelope = Envelope.model_validate_json(data)
    except (binascii.Error, ValueError):
        raise Rejected("undecodable", type_) from None
    try:
        envelope.open()
    except UnknownMessageType:
        raise Rejected("unknown_type", envelope.type) from None
    except ValidationError:
        raise Rejected("invalid_payload", envelope.type) from None
    return request, envelope


def push_router(
    service: str, path: str, bus: MessageBus[Any], max_attempts: int, authenticator: CallerAuthenticator
) -> APIRouter:
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def receive_push(request: Request) -> Response:
        body = await request.body()
        try:
            authenticator.check(request, body)
        except CallerRefused as refused:
            metrics.MESSAGES.labels(service, "unknown", "refused").inc()
            log.warning("push refused", extra={"reason": refused.reason})
            return Response(status_code=refused.status_code)
        try:
            push, envelope = decode(body)
        except Rejected as rejected:
            metrics.MESSAGES.labels(service, rejected.type, "rejected").inc()
            log.warning("message rejected", extra={"reason": rejected.reason, "type": rejected.type})
            return Response(status_code=400)
        span = tracing.purchase_span(
            f"handle {envelope.type}", envelope.correlation_id, SpanKind.CONSUMER, carrier=push.message.attributes
        )
        try:
            with span:
                outcome = await run_in_threadpool(bus.handle, envelope)
        except NoHandler:
            metrics.MESSAGES.labels(service, envelope.type, "rejected").inc()
            log.warning("no handler", extra={"type": envelope.type})
            return Response(status_code=400)
        except Exception:
            metrics.MESSAGES.labels(service, envelope.type, "failed").inc()
            if (push.delivery_attempt or 0) >= max_attempts:
                metrics.DEAD_LETTER_BOUND.labels(service, envelope.type).inc()
            log.exception(
                "handler failed",
                extra={
                    "type": envelope.type,
                    "message_id": str(envelope.message_id),
                    "correlation_id": envelope.correlation_id,
                    "delivery_attempt": push.delivery_attempt,
                },
            )
            return Response(status_code=503)
        metrics.MESSAGES.labels(service, envelope.type, outcome.value).inc()
        return Response(status_code=204)

    return router
