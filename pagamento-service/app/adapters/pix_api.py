"""The payment provider, through the Banco Central's API Pix (https://bacen.github.io/pix-api/):
OAuth 2 client credentials for a bearer token, then PUT /v2/cob/{txid} creates an
immediate charge whose txid is our payment code.

One adapter serves both providers we run. Efí Bank's Pix API is this API
(https://dev.efipay.com.br/docs/api-pix/cobrancas-imediatas): base URL
https://pix.api.efipay.com.br, and every call over mutual TLS with the certificate Efí
issues (PIX_CERTIFICATE_FILE, kept in Secret Manager). The local provider of `make run`
and the tests (mercado_devtools.pix_provider) speaks it over plain HTTP on loopback.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from decimal import Decimal
from typing import Any

import httpx

from app.config import PagamentoSettings
from app.domain.pix import Charge, PixProviderError, RefundState


def api_pix(settings: PagamentoSettings) -> ApiPix:
    """The provider of these settings; its client certificate (PEM, from Secret Manager in
    production) written to a file only this process reads, where TLS can load it."""
    certificate = None
    pem = settings.pix_certificate.get_secret_value() if settings.pix_certificate else ""
    if "-----BEGIN" in pem:  # else not configured yet: the provider refuses our calls, and says so
        handle, certificate = tempfile.mkstemp(prefix="pix-", suffix=".pem")
        with os.fdopen(handle, "w") as file:
            file.write(pem)
    return ApiPix(
        settings.pix_api_url,
        settings.pix_client_id,
        settings.pix_client_secret.get_secret_value(),
        settings.pix_key,
        certificate,
    )


class ApiPix:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        key: str,
        certificate: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.key = key  # the receiver's Pix key (chave) the charges are paid to
        self._http = httpx.Client(base_url=base_url, cert=certificate, timeout=timeout)
        self._credentials = (client_id, client_secret)
        self._token: tuple[str, float] | None = None  # bearer, monotonic time it is good until
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def create_charge(self, txid: str, amount: Decimal, expires_in: int) -> Charge:
        """The immediate charge ``txid``, created or, if it exists (a command delivered
        again), read back: the same txid is the same charge."""
        body = {"calendario": {"expiracao": expires_in}, "valor": {"original": f"{amount:.2f}"}, "chave": self.key}
        created = self._call("PUT", f"/v2/cob/{txid}", json=body)
        if created.status_code in (400, 409):  # its txid is taken: ours, from a first delivery
            created = self._call("GET", f"/v2/cob/{txid}")
        if created.status_code not in (200, 201):
            raise PixProviderError(f"PUT /v2/cob: {created.status_code}")
        cob: dict[str, Any] = created.json()
        charged = Decimal(cob["valor"]["original"])
        if cob.get("txid") != txid or charged != amount:
            raise PixProviderError("the provider holds another charge under this txid")
        return Charge(txid, str(cob["loc"]["location"]), charged)

    def refund(self, end_to_end_id: str, refund_id: str, amount: Decimal) -> RefundState:
        """PUT /v2/pix/{e2eid}/devolucao/{id}: the same id is the same devolução, so a
        second ask reads it back."""
        path = f"/v2/pix/{end_to_end_id}/devolucao/{refund_id}"
        asked = self._call("PUT", path, json={"valor": f"{amount:.2f}"})
        if asked.status_code in (400, 409):
            asked = self._call("GET", path)
        if asked.status_code not in (200, 201):
            raise PixProviderError(f"PUT /v2/pix/devolucao: {asked.status_code}")
        return RefundState(asked.json()["status"])

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, headers={"Authorization": self._bearer()}, **kwargs)
            if response.status_code == 401:  # revoked before its time: once more with a new one
                response = self._http.request(method, path, headers={"Authorization": self._bearer(True)}, **kwargs)
        except httpx.HTTPError as failed:  # the path names a txid (a payment code): never in a log
            route = path.split("/")[2] if path.count("/") > 1 else path
            raise PixProviderError(f"{method} {route}: {type(failed).__name__}") from None
        return response

    def _bearer(self, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or self._token[1] <= time.monotonic():
                granted = self._http.post(
                    "/oauth/token", json={"grant_type": "client_credentials"}, auth=self._credentials
                )
                if granted.status_code != 200:
                    raise PixProviderError(f"POST /oauth/token: {granted.status_code}")
                body = granted.json()
                # Renewed a minute early, so that no call carries a token about to lapse.
                self._token = (f"Bearer {body['access_token']}", time.monotonic() + int(body["expires_in"]) - 60)
            return self._token[0]
