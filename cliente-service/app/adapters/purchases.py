"""Whether a customer has a purchase in progress, asked of the orchestrator.

A purchase is in progress from the moment the orchestrator accepts it (its 202) until it
ends, which only the orchestrator knows: the credit hold does not exist until its command
arrives, and after the capture there is none while the car is marked sold. cliente-service
asks before an erasure, as itself (an ID token on Cloud Run; the run's secret locally), and a
question it cannot get answered refuses the erasure (503) rather than risk it.
"""

from __future__ import annotations

import httpx

from mercado_shared.errors import BusinessError
from mercado_shared.platform_auth import IdTokens


class OrchestratorUnavailable(BusinessError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("SERVICE_UNAVAILABLE", "cannot tell whether a purchase is in progress; retry")
        self.headers = {"Retry-After": "2"}


class PurchasesInProgress:
    def __init__(self, orchestrator_url: str, timeout: float, id_tokens: IdTokens) -> None:
        self._url = orchestrator_url
        self._client = httpx.Client(base_url=orchestrator_url, timeout=timeout)
        self._id_tokens = id_tokens

    def count(self, customer_id: str) -> int:
        """``customer_id`` is a UUID (the caller found the customer): it goes into the path."""
        try:
            response = self._client.get(
                f"/internal/customers/{customer_id}/purchases-in-progress", headers=self._id_tokens.headers(self._url)
            )
        except httpx.HTTPError:
            raise OrchestratorUnavailable() from None
        if response.status_code != 200:
            raise OrchestratorUnavailable()
        return int(response.json()["in_progress"])

    def close(self) -> None:
        self._client.close()
