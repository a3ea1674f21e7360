"""Synchronous reads from the participants, made before a purchase starts.

The saga itself talks to them only through Pub/Sub; these reads answer the questions a
client needs answered at once (does the vehicle exist, at what price, does the customer).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx

from mercado_shared.errors import BusinessError


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
    def __init__(self, cliente_url: str, veiculo_url: str, timeout: float) -> None:
        self._cliente = httpx.Client(base_url=cliente_url, timeout=timeout)
        self._veiculo = httpx.Client(base_url=veiculo_url, timeout=timeout)

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

    def customer(self, customer_id: str, bearer_token: str) -> CustomerFunds | None:
        """Read with the caller's own token (a customer reads itself, staff anyone).

        ``customer_id`` must be a UUID (checked by the caller): it goes into the path.
        """
        try:
            response = self._cliente.get(
                f"/customers/{customer_id}", headers={"Authorization": f"Bearer {bearer_token}"}
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

    def close(self) -> None:
        self._cliente.close()
        self._veiculo.close()
