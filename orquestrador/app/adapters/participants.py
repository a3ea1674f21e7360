"""Synchronous reads from the participants, made before a purchase starts.

The saga itself talks to them only through Pub/Sub; these reads answer the questions a
client needs answered at once (does the vehicle exist, at what price, does the customer).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from mercado_shared.errors import BusinessError
from mercado_shared.platform_auth import IdTokens


class ParticipantUnavailable(BusinessError):
    status_code = 503

    def __init__(self, service: str) -> None:
        super().__init__("SERVICE_UNAVAILABLE", f"{service} did not answer; try again")


@dataclass(frozen=True)
class VehicleOffer:
    id: str
    price: Decimal
    is_reserved: bool
    is_sold: bool


@dataclass(frozen=True)
class CustomerFunds:
    account_balance: Decimal
    available_credit: Decimal
    active: bool


class Participants:
    """``id_tokens`` identifies the orchestrator to the participants' internal routes (a
    Google ID token for each one's URL on Cloud Run; the run's platform secret locally, as
    checked). The vehicle read is public data and needs no identity."""

    def __init__(
        self, cliente_url: str, veiculo_url: str, pagamento_url: str, timeout: float, id_tokens: IdTokens
    ) -> None:
        self._cliente_url = cliente_url
        self._cliente = httpx.Client(base_url=cliente_url, timeout=timeout)
        self._veiculo = httpx.Client(base_url=veiculo_url, timeout=timeout)
        self._id_tokens = id_tokens
        self._urls = {
            "cliente-service": cliente_url,
            "veiculo-service": veiculo_url,
            "pagamento-service": pagamento_url,
        }
        self._staff_reads = httpx.Client(timeout=timeout)
        self._pool = ThreadPoolExecutor(max_workers=len(self._urls), thread_name_prefix="participant-read")

    def vehicle(self, vehicle_id: str) -> VehicleOffer | None:
        """``vehicle_id`` must be a UUID (checked by the caller): it goes into the path."""
        try:
            response = self._veiculo.get(f"/vehicles/{vehicle_id}")
        except httpx.HTTPError:
            raise ParticipantUnavailable("veiculo-service") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ParticipantUnavailable("veiculo-service")
        body = response.json()
        return VehicleOffer(body["id"], Decimal(str(body["price"])), body["is_reserved"], body["is_sold"])

    def customer(self, customer_id: str) -> CustomerFunds | None:
        """The buyer's funds, read as the platform (never with the buyer's token, which
        would let any service holding it act as the buyer).

        ``customer_id`` must be a UUID (checked by the caller): it goes into the path.
        """
        try:
            response = self._cliente.get(
                f"/internal/customers/{customer_id}/funds", headers=self._id_tokens.headers(self._cliente_url)
            )
        except httpx.HTTPError:
            raise ParticipantUnavailable("cliente-service") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ParticipantUnavailable("cliente-service")
        body = response.json()
        return CustomerFunds(
            Decimal(str(body["account_balance"])), Decimal(str(body["available_credit"])), body["status"] == "ACTIVE"
        )

    def transaction(self, transaction_id: str) -> dict[str, dict[str, Any]]:
        """What each participant holds of a purchase (mercado_shared.operations), asked of all
        at once; one that does not answer is reported as such, the others still are.

        ``transaction_id`` must be a UUID (checked by the caller): it goes into the path."""

        def ask(service: str) -> dict[str, Any]:
            url = self._urls[service]
            try:
                response = self._staff_reads.get(
                    f"{url}/internal/transactions/{transaction_id}", headers=self._id_tokens.headers(url)
                )
            except httpx.HTTPError as error:
                return {"unavailable": type(error).__name__}
            if response.status_code != 200:
                return {"unavailable": f"HTTP {response.status_code}"}
            body: dict[str, Any] = response.json()
            return body

        asked = {service: self._pool.submit(ask, service) for service in self._urls}
        return {service: future.result() for service, future in asked.items()}

    def close(self) -> None:
        self._cliente.close()
        self._veiculo.close()
        self._staff_reads.close()
        self._pool.shutdown(wait=False)
