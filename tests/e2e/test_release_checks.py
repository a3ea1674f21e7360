"""What the production path asks of a running service, tried on the local system: the
release's smoke test, browsers' CORS preflights, and the routes the load balancer exposes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from mercado_devtools.stack import LocalStack
from mercado_shared.registry import SERVICES
from mercado_shared.settings import LOCAL_ORIGINS
from tests.e2e.conftest import ROOT, Api
from tests.static.terraform import Config

INTERNALS = {
    "/health",
    "/livez",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/pubsub/push",
    "/pubsub/dead-letters",
}


def smoke(version: str, *urls: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mercado_shared.smoke", "--version", version, "--timeout", "5", *urls],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_smoke_test_passes_candidates_that_run_the_release_and_stops_one_that_does_not(
    stack: LocalStack,
) -> None:
    urls = [stack.url(s.name) for s in SERVICES]
    version = httpx.get(urls[0] + "/health").json()["version"]
    passed = smoke(version, *urls)
    assert passed.returncode == 0, passed.stdout
    assert passed.stdout.count("ok ") == len(SERVICES)
    stale = smoke("an-older-commit", *urls)
    assert stale.returncode == 1 and f"runs version {version!r}, not 'an-older-commit'" in stale.stdout


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_a_browser_preflight_from_the_frontend_is_allowed_and_one_from_elsewhere_is_not(api: Api, service: Any) -> None:
    path = {
        "cliente-service": "/customers",
        "veiculo-service": "/vehicles",
        "pagamento-service": "/payments",
        "orquestrador": "/purchase",
    }[service.name]
    frontend = LOCAL_ORIGINS[0]
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
    }
    allowed = api.client.options(api.url(service.name, path), headers={"Origin": frontend, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == frontend
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert "access-control-allow-credentials" not in allowed.headers  # bearer tokens, no cookies
    foreign = api.client.options(api.url(service.name, path), headers={"Origin": "https://evil.example", **preflight})
    assert foreign.status_code == 400 and "access-control-allow-origin" not in foreign.headers
    simple = api.client.get(api.url(service.name, "/health"), headers={"Origin": frontend})
    assert simple.headers["access-control-allow-origin"] == frontend


@cache
def openapi_paths(url: str) -> frozenset[str]:
    return frozenset(httpx.get(url + "/openapi.json").json()["paths"])


def routed(routes: list[str], path: str) -> bool:
    """Whether a URL map path rule list matches a concrete path (``*`` only at the end)."""
    return any(path == rule or (rule.endswith("/*") and path.startswith(rule[:-1])) for rule in routes)


def test_the_load_balancer_routes_every_public_path_to_its_service_and_no_internal_one(stack: LocalStack) -> None:
    routes: dict[str, list[str]] = Config.load(ROOT / "terraform").locals["routes"]
    assert set(routes) == {s.name for s in SERVICES}
    for service in SERVICES:
        for template in openapi_paths(stack.url(service.name)) - INTERNALS:
            example = template.replace("{", "x").replace("}", "")  # /customers/{id} → /customers/xid
            owners = [name for name, rules in routes.items() if routed(rules, example)]
            assert owners == [service.name], f"{template} of {service.name} is routed to {owners}"
    everything = [rule for rules in routes.values() for rule in rules]
    for internal in (*INTERNALS, "/internal/customers/x/funds", "/internal/deadlines/sweep"):
        assert not routed(everything, internal), f"the load balancer exposes {internal}"


def test_a_hundred_concurrent_logins_with_unknown_emails_leave_cliente_healthy(api: Api) -> None:
    """Anonymous password hashing is bounded: a flood is answered (401, or 503 with
    Retry-After when no hashing slot frees in time), and the service keeps serving.
    Its peak memory is make bench's login flood."""
    url = api.url("cliente-service", "/auth/token")

    def login(n: int) -> httpx.Response:
        form = {"username": f"nobody-{n}-{uuid.uuid4().hex}@example.com", "password": f"guess-{uuid.uuid4().hex}"}
        return httpx.post(url, data=form, timeout=60)

    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(login, range(100)))
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {401, 503}, codes
    assert all(a.headers.get("Retry-After") for a in answers if a.status_code == 503)
    assert httpx.get(api.url("cliente-service", "/readyz")).status_code == 200
    _, signed_in = api.new_customer(balance=0)  # registers and logs in: both hash a password
    assert signed_in["Authorization"].startswith("Bearer ")


def test_the_connection_budget_counts_every_connection_a_service_opens_outside_its_pool(stack: LocalStack) -> None:
    """Terraform's budget adds each service's dedicated connections to its pool's: they
    are what the running services hold beside their pools (the pool's connections carry
    the service's name; anything else is dedicated)."""
    declared = Config.load(ROOT / "terraform").locals["services"]
    with psycopg2.connect(stack.admin_url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT datname, application_name FROM pg_stat_activity WHERE backend_type = 'client backend'")
        held = cur.fetchall()
    for service in SERVICES:
        database = make_url(stack.database_urls[service.name]).database
        names = [name for datname, name in held if datname == database]
        assert service.name in names, f"{service.name}'s pool holds no connection: is it running?"
        dedicated = [name for name in names if name != service.name]
        assert len(dedicated) == declared[service.name]["dedicated_connections"], (service.name, dedicated)
