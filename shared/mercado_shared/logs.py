"""JSON logs that Cloud Logging understands, with the purchase's correlation id."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from mercado_shared import tracing

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_project_id = "local"  # the GCP project, for Cloud Logging's trace field


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Every log line written inside carries ``correlation_id`` (the transaction id)."""
    token = _correlation_id.set(correlation_id)
    try:
        yield
    finally:
        _correlation_id.reset(token)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        cid = _correlation_id.get()
        if cid is not None and not hasattr(record, "correlation_id"):
            record.correlation_id = cid
        return True


class _CloudLoggingFormatter(JsonFormatter):
    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["severity"] = record.levelname
        ids = tracing.current_ids()
        if ids is not None:  # Cloud Logging groups a trace's lines under it
            trace_id, span_id, sampled = ids
            log_record["trace_id"] = trace_id
            log_record["logging.googleapis.com/trace"] = f"projects/{_project_id}/traces/{trace_id}"
            log_record["logging.googleapis.com/spanId"] = span_id
            log_record["logging.googleapis.com/trace_sampled"] = sampled
        log_record.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message


def configure_logging(service: str, level: str = "INFO", project_id: str = "local") -> None:
    global _project_id
    _project_id = project_id
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        _CloudLoggingFormatter(
            "%(asctime)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn set up its own text handlers before building the app: route them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # requests are in /metrics
    # httpx logs each outgoing request's URL at INFO, and a URL may name what must not be
    # logged (the Pix provider's PUT /v2/cob/{txid}: txid is a payment code). Failures are
    # logged by whoever called.
    logging.getLogger("httpx").setLevel(logging.WARNING)
