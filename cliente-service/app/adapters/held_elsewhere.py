"""What the other services hold about a customer, for its LGPD export (art. 18, II).

Only ids travel between services, so a customer's purchases, payment codes, payments and
the vehicles it bought are held by the orchestrator, pagamento-service and veiculo-service.
The export asks each of them, as cliente-service (an ID token on Cloud Run; the run's
secret locally), on its ``/internal/customers/{id}/…`` route. An export that could not
gather everything is refused (503), never answered with part of what is held.
"""

from __future__ import annotations

from typing import Any

import httpx

from mercado_shared.errors import BusinessError
from mercado_shared.platform_auth import IdTokens


class RecordsUnavailable(BusinessError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("SERVICE_UNAVAILABLE", "cannot gather what the other services hold; retry")
        self.headers = {"Retry-After": "2"}


# service → the route that answers what it holds about a customer
ROUTES = {
    "orquestrador": "/internal/customers/{id}/purchases",
    "pagamento-service": "/internal/customers/{id}/payments",
    "veiculo-service": "/internal/customers/{id}/vehicles",
}


class HeldElsewhere:
    def __init__(self, urls: dict[str, str], timeout: float, id_tokens: IdTokens) -> None:
        self._urls = urls
        self._clients = {service: httpx.Client(base_url=url, timeout=timeout) for service, url in urls.items()}
        self._id_tokens = id_tokens

    def of(self, customer_id: str) -> dict[str, Any]:
        """``purchases``, ``payment_codes``, ``payments`` and ``vehicles``, merged from the
        three answers. ``customer_id`` is a UUID the caller found: it goes into the path."""
        found: dict[str, Any] = {}
        for service, route in ROUTES.items():
            try:
                response = self._clients[service].get(
                    route.format(id=customer_id), headers=self._id_tokens.headers(self._urls[service])
                )
            except httpx.HTTPError:
                raise RecordsUnavailable() from None
            if response.status_code != 200:
                raise RecordsUnavailable()
            found.update(response.json())
        return found

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
