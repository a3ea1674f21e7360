"""The load balancer's URL map, locally: one origin for the console and the frontend.

In production a global external Application Load Balancer sends each public path to its
service (``local.routes`` in ``terraform/lb.tf``) and answers 404 to anything else. This
gateway reads the same routes from the same file and does the same, so what works on
``make run``'s origin works behind the load balancer, and a page calling a path the load
balancer does not route fails here too. Path rules match as the URL map's do: a rule is
exact, or ends in ``/*`` and matches what starts with the part before the ``*``; the
longest matching rule wins ("Matches are always done on the longest-path-first basis":
https://cloud.google.com/compute/docs/reference/rest/v1/urlMaps, pathMatchers[].pathRules[]).
Like the load balancer it appends the client's address to ``X-Forwarded-For``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import hcl2
import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mercado_devtools.processes import ServedInThread

# Hop-by-hop headers (RFC 9110, 7.6.1) and what the proxy sets itself.
_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
TIMEOUT = 35.0  # past the longest long poll (25 s) and Cloud Run's 30 s request timeout


def load_routes(repo_root: Path) -> dict[str, list[str]]:
    """``local.routes`` of terraform/lb.tf: service → its path rules."""
    with (repo_root / "terraform" / "lb.tf").open() as f:
        document = hcl2.load(f)
    routes: dict[str, list[str]] = {}
    for entry in document.get("locals", []):
        for service, rules in entry.get("routes", {}).items():
            routes[service.strip('"')] = [str(rule).strip('"') for rule in rules]
    if not routes:
        raise ValueError("terraform/lb.tf has no local.routes")
    return routes


def owner(routes: Mapping[str, list[str]], path: str) -> str | None:
    """The service the URL map sends ``path`` to, or None (the load balancer's 404)."""
    best: tuple[int, str] | None = None
    for service, rules in routes.items():
        for rule in rules:
            hit = path == rule or (rule.endswith("/*") and path.startswith(rule[:-1]))
            if hit and (best is None or len(rule) > best[0]):
                best = (len(rule), service)
    return best[1] if best else None


class Gateway:
    """Serves in a thread of this process (``make run``'s stack, the tests)."""

    def __init__(self, host: str, port: int, routes: Mapping[str, list[str]], backends: Mapping[str, str]) -> None:
        self.host, self.port = host, port
        self.routes = dict(routes)
        self.backends = dict(backends)
        self._client: httpx.AsyncClient | None = None
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=_METHODS)])
        self._served = ServedInThread(self.app, host, port, "gateway")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _forward(self, request: Request) -> Response:
        service = owner(self.routes, request.url.path)
        if service is None:
            return JSONResponse({"detail": "not routed by the load balancer"}, status_code=404)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP | {"x-forwarded-for"}]
        client = request.client.host if request.client else "127.0.0.1"
        forwarded = ", ".join(filter(None, [request.headers.get("x-forwarded-for"), client]))
        headers += [("x-forwarded-for", forwarded), ("x-forwarded-proto", request.url.scheme)]
        upstream = self._client.build_request(
            request.method,
            self.backends[service] + request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        try:
            answer = await self._client.send(upstream, stream=True)
        except httpx.HTTPError:
            return JSONResponse({"detail": f"{service} did not answer"}, status_code=502)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP | {"content-length"}}
        return StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, headers=kept, background=BackgroundTask(answer.aclose)
        )

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
