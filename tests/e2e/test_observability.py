"""One purchase is one trace across the four services, carried through Pub/Sub; its log
lines name that trace; the metrics count what happened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mercado_devtools.testing.helpers import eventually
from mercado_shared.tracing import purchase_trace_id
from tests.e2e.conftest import Api


def lines(api: Api) -> list[dict[str, Any]]:
    found = []
    for raw in (Path(api.stack.config.run_dir) / "services.log").read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                found.append(json.loads(raw))
            except ValueError:
                continue
    return found


def test_a_purchase_is_one_trace_across_the_four_services_through_message_attributes(api: Api) -> None:
    _, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(15000)["id"], buyer)["transaction_id"]
    code = api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"]
    assert api.pay(code, buyer).status_code == 201
    api.saga_reaches(tx, buyer, "COMPLETED")
    trace_id = f"0x{purchase_trace_id(tx):032x}"

    def spans_of_the_purchase() -> list[dict[str, Any]]:
        spans = [s for s in lines(api) if "context" in s and s["context"]["trace_id"] == trace_id]
        services = {s["resource"]["attributes"]["service.name"] for s in spans}
        assert services == {"cliente-service", "veiculo-service", "pagamento-service", "orquestrador"}, services
        assert any(s["name"] == "handle events.vehicle.sold" for s in spans)  # the last reply is in
        ids = {s["context"]["span_id"] for s in spans}
        # each service exports its own batches: a consumer's span may land before its producer's
        unparented = [s["name"] for s in spans if s["kind"] == "SpanKind.CONSUMER" and s["parent_id"] not in ids]
        assert not unparented, unparented
        return spans

    spans = eventually(spans_of_the_purchase, timeout=20)  # exported in batches, every few seconds
    by_id = {s["context"]["span_id"]: s for s in spans}
    consumers = [s for s in spans if s["kind"] == "SpanKind.CONSUMER"]
    assert len(consumers) >= 8  # reserve credit, reserve vehicle, code, processed, capture, sold… and replies
    for consumer in consumers:
        parent = by_id.get(consumer["parent_id"])  # the producer's span, read from the message attributes
        assert parent is not None and parent["kind"] == "SpanKind.PRODUCER", consumer["name"]
        assert parent["name"].removeprefix("send ") == consumer["name"].removeprefix("handle ")
        assert parent["resource"]["attributes"]["service.name"] != consumer["resource"]["attributes"]["service.name"]
    # POST /payments began in the customer's own trace; the purchase trace links to it.
    sent = next(s for s in spans if s["name"] == "send events.payment.processed")
    assert sent["links"] and sent["links"][0]["context"]["trace_id"] != trace_id

    logged = [line for line in lines(api) if line.get("correlation_id") == tx and "trace_id" in line]
    assert logged and {line["trace_id"] for line in logged} == {trace_id.removeprefix("0x")}
    in_trace = [line for line in lines(api) if line.get("trace_id") == trace_id.removeprefix("0x")]
    assert {line.get("correlation_id") for line in in_trace} == {tx}  # every line of the purchase names it
    assert all(line["logging.googleapis.com/trace"].endswith(trace_id.removeprefix("0x")) for line in logged)


def test_the_metrics_count_the_purchase(api: Api) -> None:
    _, buyer = api.new_customer(balance=20000)
    tx = api.purchase(api.new_vehicle(15000)["id"], buyer)["transaction_id"]
    api.pay(api.saga_reaches(tx, buyer, "AWAITING_PAYMENT")["payment_code"], buyer)
    api.saga_reaches(tx, buyer, "COMPLETED")

    def scrape(service: str) -> str:
        return api.client.get(api.url(service, "/metrics")).text

    orchestrator = scrape("orquestrador")
    for metric in (
        'purchases{status="COMPLETED"}',
        "purchases_stuck ",
        'saga_transitions_total{status="COMPLETED"}',
        'saga_step_duration_seconds_count{step="CREDIT_RESERVATION"}',
        "outbox_lag_seconds_count",
    ):
        assert metric in orchestrator, metric
    for service in ("cliente-service", "veiculo-service", "pagamento-service"):
        text = scrape(service)
        assert "messages_handled_total{" in text and 'outcome="handled"' in text, service
        assert "http_request_duration_seconds_bucket" in text
    payments = scrape("pagamento-service")
    assert 'http_requests_total{method="POST",route="/payments",service="pagamento-service",status="201"}' in payments
