"""With TRACE_EXPORTER=none no tracer provider is installed (no span is recorded), yet
work on a purchase still runs in that purchase's trace: logs and messages carry its id."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from mercado_shared import tracing


def test_no_exporter_records_nothing_but_keeps_the_purchase_trace() -> None:
    tracing.configure_tracing("test", "none", "project")
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # nothing records spans
    wanted = f"{tracing.purchase_trace_id('tx-1'):032x}"
    with tracing.purchase_span("handle x", "tx-1", SpanKind.CONSUMER) as span:
        assert not span.is_recording()
        ids = tracing.current_ids()
        assert ids is not None and ids[0] == wanted  # what each log line carries
        traceparent = tracing.inject()["traceparent"]
        assert traceparent.split("-")[1] == wanted  # what each message carries
    carried = {"traceparent": traceparent}
    with tracing.purchase_span("handle y", "tx-1", SpanKind.CONSUMER, carrier=carried):
        ids = tracing.current_ids()
        assert ids is not None and ids[0] == wanted  # continued downstream
    assert tracing.current_ids() is None  # outside any purchase: no trace
