"""OpenTelemetry traces: one purchase is one trace, across the four services and Pub/Sub.

- HTTP requests get a server span from FastAPI's native telemetry, which continues the
  caller's ``traceparent`` if it sent one.
- A message is sent inside a producer span. Its context travels in the Pub/Sub message's
  attributes (W3C ``traceparent``, stored with the outbox row, so a message the relay
  sends later still carries it). The consumer continues it in a consumer span.
- Each purchase's trace id is derived from its transaction id. Every span about a
  purchase joins that one trace, even one begun by an unrelated request (the customer's
  ``POST /payments``), which is kept as a link. A trace id derived this way is stable
  across retries, restarts and instances.

Exporters (TRACE_EXPORTER): ``console`` (stderr, a JSON line per span), ``otlp``
(OTEL_EXPORTER_OTLP_ENDPOINT), ``gcp`` (Cloud Trace), or ``none``: then no tracer provider
is installed and no span is recorded (nor FastAPI's request spans, whose middleware then
steps aside), which saves their CPU on every request and message; work on a purchase still
runs in its purchase's trace context, so log lines still carry its trace id, and
``traceparent`` still travels with each message.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from mercado_shared import cloud_access

Exporter = Literal["none", "console", "otlp", "gcp"]
_tracer = trace.get_tracer("mercado_shared")
_configured = False


def configure_tracing(service: str, exporter: Exporter, project_id: str) -> None:
    """Once per process (the provider is global); later calls keep the first."""
    global _configured
    if _configured or exporter == "none":
        return
    chosen: SpanExporter
    if exporter == "console":
        chosen = ConsoleSpanExporter(out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n")
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen = OTLPSpanExporter()
    else:
        cloud_trace = importlib.import_module("opentelemetry.exporter.cloud_trace")  # production only
        chosen = _Recorded(cloud_trace.CloudTraceSpanExporter(project_id=project_id))
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(_WithoutRawPaths(chosen)))
    trace.set_tracer_provider(provider)
    _configured = True


class _WithoutRawPaths(SpanExporter):
    """A request's span leaves with its route's template, never the path it was asked at
    nor its query: a path can hold a payment code (/payment-codes/{code}), a query a
    buyer's free text, and a trace is kept and read by more people than the database."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([without_raw_path(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def without_raw_path(span: ReadableSpan) -> ReadableSpan:
    attributes = dict(span.attributes or {})
    if "url.path" not in attributes and "url.query" not in attributes:
        return span
    attributes.pop("url.query", None)
    route = attributes.pop("url.path", None) and attributes.get("http.route")
    if route:
        attributes["url.path"] = route
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class _Recorded(SpanExporter):
    """Cloud Trace's exporter, its calls recorded (mercado_shared.cloud_access)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        cloud_access.record(cloud_access.WRITE_TRACES, cloud_access.PROJECT)
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def shutdown(timeout: float = 2.0) -> None:
    """Flush spans not yet exported (at process shutdown), for at most ``timeout`` seconds."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(int(min(timeout, 2.0) * 1000))


def purchase_trace_id(correlation_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"trace\x00" + correlation_id.encode()).digest()[:16], "big")


def _purchase_root(correlation_id: str) -> otel_context.Context:
    digest = hashlib.sha256(b"root\x00" + correlation_id.encode()).digest()
    root = SpanContext(
        trace_id=purchase_trace_id(correlation_id),
        span_id=int.from_bytes(digest[:8], "big") or 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(root))


@contextmanager
def purchase_span(
    name: str, correlation_id: str, kind: SpanKind, carrier: Mapping[str, str] | None = None
) -> Iterator[trace.Span]:
    """A span in the purchase's trace. Its parent is the incoming context (``carrier``, or
    the current span) when that is in the purchase's trace. Otherwise it is the purchase's
    root, with the incoming context kept as a link."""
    incoming = propagate.extract(carrier) if carrier is not None else otel_context.get_current()
    incoming_span = trace.get_current_span(incoming).get_span_context()
    wanted = purchase_trace_id(correlation_id)
    if incoming_span.is_valid and incoming_span.trace_id == wanted:
        parent, links = incoming, []
    else:
        parent = _purchase_root(correlation_id)
        links = [Link(incoming_span)] if incoming_span.is_valid else []
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, links=links, attributes={"purchase.transaction_id": correlation_id}
    ) as span:
        yield span


def inject() -> dict[str, str]:
    """The current context as message attributes (``traceparent``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_ids() -> tuple[str, str, bool] | None:
    """(trace id, span id, sampled) of the current span, in hex; None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", context.trace_flags.sampled
