"""What cliente-service asks the other services, as itself (an ID token on Cloud Run; the
run's secret locally), on their ``/internal/customers/{id}/…`` routes.

- Whether a customer has a purchase in progress, before an erasure. A purchase is in
  progress from the moment the orchestrator accepts it (its 202) until it ends, which only
  the orchestrator knows: the credit hold does not exist until its command arrives, and
  after the capture there is none while the car is marked sold.
- What the others hold about a customer, for its LGPD export (art. 18, II): only ids travel
  between services, so its purchases, payment codes, payments and the vehicles it bought
  are held by the orchestrator, pagamento-service and veiculo-service.

A question that cannot be answered is a 503: never an erasure on a guess, never an export
in part.
"""

from __future__ import annotations

from typing import Any

import httpx

from mercado_shared.errors import BusinessError
from mercado_shared.platform_auth import IdTokens


class PeerUnavailable(BusinessError):
    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__("SERVICE_UNAVAILABLE", message)
        self.headers = {"Retry-After": "2"}


# service → the route that answers what it holds about a customer
HELD_AT = {
    "orquestrador": "/internal/customers/{id}/purchases",
    "pagamento-service": "/internal/customers/{id}/payments",
    "veiculo-service": "/internal/customers/{id}/vehicles",
}


class Peers:
    def __init__(self, urls: dict[str, str], timeout: float, id_tokens: IdTokens) -> None:
        self._urls = urls
        self._clients = {service: httpx.Client(base_url=url, timeout=timeout) for service, url in urls.items()}
        self._id_tokens = id_tokens

    def _get(self, service: str, path: str, unavailable: str) -> dict[str, Any]:
        """``path`` holds a customer id the caller found (a UUID)."""
        try:
            response = self._clients[service].get(path, headers=self._id_tokens.headers(self._urls[service]))
        except httpx.HTTPError:
            raise PeerUnavailable(unavailable) from None
        if response.status_code != 200:
            raise PeerUnavailable(unavailable)
        answer: dict[str, Any] = response.json()
        return answer

    def purchases_in_progress(self, customer_id: str) -> int:
        """The customer's purchases accepted and not yet ended."""
        path = f"/internal/customers/{customer_id}/purchases-in-progress"
        unavailable = "cannot tell whether a purchase is in progress; retry"
        return int(self._get("orquestrador", path, unavailable)["in_progress"])

    def held_about(self, customer_id: str) -> dict[str, Any]:
        """``purchases``, ``payment_codes``, ``payments`` and ``vehicles``, from the three."""
        found: dict[str, Any] = {}
        for service, route in HELD_AT.items():
            unavailable = "cannot gather what the other services hold; retry"
            found.update(self._get(service, route.format(id=customer_id), unavailable))
        return found

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
