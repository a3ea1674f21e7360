"""The probes every service serves (mercado_shared.health), on this service as an example:
liveness checks only the process, readiness pings the database under a short timeout,
and /health stays cheap however often it is asked."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.bootstrap import bootstrap
from app.config import VeiculoSettings
from mercado_devtools.processes import free_port
from mercado_devtools.testing.helpers import FreezableProxy
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared import cloud_access
from mercado_shared.messaging.publisher import PubSubPublisher
from mercado_shared.runtime import app_runtime
from tests.conftest import SERVICE_DIR, Client


def test_a_healthy_service_is_live_ready_and_healthy_without_calling_google(client: Client) -> None:
    before = cloud_access.calls()
    for path in ("/livez", "/readyz", "/health"):
        response = client.http.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "ok" and response.json()["service"] == "veiculo-service"
    assert cloud_access.calls() == before  # no probe calls a Google API
    assert client.http.get("/readyz").json()["checks"] == {"database": "ok"}
    assert client.http.get("/health").json()["checks"] == {"database": "ok", "pubsub": "ok"}


def test_a_database_that_stops_answering_makes_it_unready_but_not_dead(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str
) -> None:
    url = migrated_database(SERVICE_DIR)
    proxy = FreezableProxy(make_url(url).host or "", make_url(url).port or 5432)
    settings = VeiculoSettings(environment="test", database_url=proxy.url_for(url), pubsub_project_id=project_id)
    try:
        with TestClient(bootstrap(settings, key_source=TestTokens().key_source())) as http:
            assert http.get("/readyz").status_code == 200
            proxy.freeze()
            live = http.get("/livez")
            ready = http.get("/readyz")
            health = http.get("/health")
            proxy.thaw()
    finally:
        proxy.close()
    assert live.status_code == 200  # a restart would not bring the database back
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "error: no answer in 1 s"
    assert health.status_code == 503 and health.json()["checks"]["database"].startswith("error")


def test_a_flood_of_health_checks_costs_the_database_one_ping(client: Client) -> None:
    probe = app_runtime(client.http.app).database_probe
    before = probe.pings
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.http.get("/health").status_code, range(200)))
    assert answers == [200] * 200
    assert probe.pings - before <= 2  # one per HEALTH_CACHE_SECONDS at most (the run may straddle one)


def test_production_serves_no_internals_publicly_and_its_metrics_on_loopback_only(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = PubSubPublisher(project_id)  # on the emulator, made before production forbids its address
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST")
    port = free_port()
    settings = VeiculoSettings(
        environment="production",
        database_url=migrated_database(SERVICE_DIR),
        pubsub_project_id=project_id,
        jwks_url="https://cliente.example/.well-known/jwks.json",
        platform_auth="oidc",
        service_audience="https://veiculo.example",
        push_service_account="pusher@example.iam.gserviceaccount.com",
        allowed_origins=["https://shop.example"],
        metrics_port=port,
    )
    with TestClient(bootstrap(settings, publisher=publisher, key_source=TestTokens().key_source())) as http:
        for path in ("/docs", "/openapi.json", "/metrics"):
            assert http.get(path).status_code == 404, path
        assert http.get("/vehicles").status_code == 200  # the API itself is served
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200 and "http_requests_total" in scraped.text
        assert listening_on(port) == {"127.0.0.1"}, "the metrics port listens on loopback only"


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at ``port``, as the kernel lists them."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # TCP_LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found
