"""A request's span leaves a service with its route's template, never the path it was asked
at (which can hold a payment code) nor its query (a buyer's free text)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mercado_shared import tracing


def exported(**attributes: str) -> dict[str, object]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing._WithoutRawPaths(memory)))
    provider.get_tracer("test").start_span("GET", attributes=attributes).end()
    (span,) = memory.get_finished_spans()
    return dict(span.attributes or {})


def test_the_path_becomes_its_route_and_the_query_goes() -> None:
    sent = exported(
        **{"url.path": "/payment-codes/MVSECRET42", "url.query": "q=único+dono", "http.route": "/payment-codes/{code}"}
    )
    assert sent == {"url.path": "/payment-codes/{code}", "http.route": "/payment-codes/{code}"}


def test_a_path_no_route_matched_is_dropped_and_other_spans_stay_as_they_are() -> None:
    assert exported(**{"url.path": "/nothing/MVSECRET42"}) == {}
    assert exported(**{"messaging.system": "gcp_pubsub"}) == {"messaging.system": "gcp_pubsub"}
