"""The probes every service serves (mercado_shared.health), on this service as an example:
liveness checks only the process, readiness pings the database under a short timeout,
and /health stays cheap however often it is asked."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.bootstrap import bootstrap
from app.config import VeiculoSettings
from mercado_shared.testing.helpers import FreezableProxy
from mercado_shared.testing.tokens import TestTokens
from tests.conftest import SERVICE_DIR, Client


def test_a_healthy_service_is_live_ready_and_healthy(client: Client) -> None:
    for path in ("/livez", "/readyz", "/health"):
        response = client.http.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "ok" and response.json()["service"] == "veiculo-service"
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
    probe = client.http.app.state.runtime.database_probe  # type: ignore[attr-defined]
    before = probe.pings
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.http.get("/health").status_code, range(200)))
    assert answers == [200] * 200
    assert probe.pings - before <= 2  # one per HEALTH_CACHE_SECONDS at most (the run may straddle one)
