"""A local Pix provider for `make run` and the tests, speaking the Banco Central's API Pix
(https://bacen.github.io/pix-api/) over real HTTP, as Efí Bank runs it (without its mutual
TLS, on loopback):

- ``POST /oauth/token``: client credentials (HTTP Basic) for a bearer token;
- ``PUT /v2/cob/{txid}`` and ``GET /v2/cob/{txid}``: an immediate charge, whose
  ``loc.location`` a dynamic BR Code carries; a txid is used once;
- ``GET /qr/v2/{id}``: what a payer's bank fetches from that location, a JWS signed by
  the provider (ES256; its key at ``/jwks.json``), with the txid, amount and expiry;
- ``PUT /v2/webhook/{chave}``: where the Pix received for a key are notified, as Efí does
  it: ``POST <webhookUrl>/pix {"pix": [{endToEndId, txid, chave, valor, horario}]}``, the
  "/pix" appended to the URL as registered (so a URL ending in "&ignorar=" keeps its query),
  repeated until the receiver answers 2xx (five tries);
- ``PUT /v2/pix/{e2eid}/devolucao/{id}`` and its GET: a devolução, EM_PROCESSAMENTO until
  the provider settles it (DEVOLVIDO or NAO_REALIZADO), which it notifies within the Pix;
  by itself a second later (``auto_refund``), or when told: ``settle_refund`` here, or
  ``POST /bank/refunds/{id} {"status": ...}``;
- ``/bank``: the developer's bank app. Paste a "Pix copia e cola" in the page, or
  ``POST /bank/pay {"pix_copia_e_cola": ...}``, and the charge is paid. ``"valor"`` pays
  another amount than the charge's, as a faulty provider might notify.

Charges live in memory: the provider forgets them when it stops, as a sandbox would.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import threading
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from mercado_devtools.processes import ServedInThread

TOKEN_SECONDS = 3600
LOCAL_PIX_SECRET = "local-pix-secret"  # noqa: S105 (pagamento-service's default; refused in production)
ISPB = "99999999"  # this provider's participant code in end-to-end ids
PIX_KEY = "pix@mercadoveiculo.com.br"  # pagamento-service's default key (PIX_KEY)


def _emv(payload: str) -> dict[str, str]:
    fields, at = {}, 0
    while at < len(payload):
        tag, size = payload[at : at + 2], int(payload[at + 2 : at + 4])
        fields[tag], at = payload[at + 4 : at + 4 + size], at + 4 + size
    return fields


class PixProvider:
    def __init__(
        self, host: str, port: int, client_id: str, client_secret: str, public_host: str | None = None
    ) -> None:
        self.host, self.port = host, port
        # Where a payer's bank reaches the charges' locations (docker compose: localhost).
        self.public_host = public_host or f"{host}:{port}"
        self.credentials = (client_id, client_secret)
        self._tokens: set[str] = set()
        self._charges: dict[str, dict[str, Any]] = {}  # txid -> cob
        self._locations: dict[str, str] = {}  # location id -> txid
        self._webhooks: dict[str, str] = {}  # chave -> webhookUrl
        self._refunds: dict[str, dict[str, Any]] = {}  # devolução id -> it, with its Pix's e2eid
        self.auto_refund = True  # settle each devolução DEVOLVIDO a second after it is asked
        self.notified: list[tuple[dict[str, Any], int | None]] = []  # each try: body, status (None: unreachable)
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._kid = secrets.token_hex(8)
        self.app = self._build()
        self._served = ServedInThread(self.app, self.host, self.port, "pix-provider")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # Running it -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a thread of this process (the tests, `make run`'s stack)."""
        self._served.start()

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> PixProvider:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # What it keeps ----------------------------------------------------------------------

    def register_webhook(self, key: str, url: str) -> None:
        """What PUT /v2/webhook/{chave} does, from the provider's own console."""
        with self._lock:
            self._webhooks[key] = url

    def _notify(self, key: str, paid: dict[str, Any]) -> None:
        url = self._webhooks.get(key)
        if url is None:
            return
        body = {"pix": [paid]}

        def send() -> None:
            for attempt in range(5):
                try:
                    status: int | None = httpx.post(url + "/pix", json=body, timeout=10).status_code
                except httpx.HTTPError:
                    status = None
                self.notified.append((body, status))
                if status is not None and status < 300:
                    return
                threading.Event().wait(0.2 * 2**attempt)

        threading.Thread(target=send, name="pix-webhook", daemon=True).start()

    def refund_of(self, refund_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._refunds.get(refund_id)
            return dict(found) if found else None

    def settle_refund(self, refund_id: str, status: str = "DEVOLVIDO") -> None:
        """The devolução is done (DEVOLVIDO) or refused (NAO_REALIZADO): notified within its Pix."""
        with self._lock:
            refund = self._refunds[refund_id]
            refund["status"] = status
            pix = next(p for c in self._charges.values() for p in c.get("pix", []) if p["endToEndId"] == refund["e2e"])
            returned = {k: v for k, v in refund.items() if k != "e2e"}
            pix["devolucoes"] = [*(d for d in pix.get("devolucoes", []) if d["id"] != refund_id), returned]
            key, notified = self._charges[pix["txid"]]["chave"], dict(pix)
        self._notify(key, notified)

    def charge(self, txid: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._charges.get(txid)
            return dict(found) if found else None

    # The API ----------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI(title="Local Pix provider (API Pix)", docs_url=None, redoc_url=None)

        def bearer(request: Request) -> None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self._tokens:
                raise HTTPException(401, "invalid or expired token")

        @app.post("/oauth/token")
        def token(request: Request) -> dict[str, Any]:
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            try:
                given = tuple(base64.b64decode(encoded).decode().split(":", 1)) if scheme.lower() == "basic" else ()
            except ValueError:
                given = ()
            if given != self.credentials:
                raise HTTPException(401, "invalid client credentials")
            issued = secrets.token_urlsafe(32)
            self._tokens.add(issued)
            return {"access_token": issued, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "scope": "cob.write"}

        @app.put("/v2/cob/{txid}", status_code=201)
        async def create(txid: str, request: Request) -> Any:
            bearer(request)
            body = await request.json()
            if not (26 <= len(txid) <= 35 and txid.isascii() and txid.isalnum()):
                return _problem(400, "CobOperacaoInvalida", "txid must be 26 to 35 letters or digits")
            try:
                amount = Decimal(body["valor"]["original"])
                expires_in = int(body["calendario"]["expiracao"])
                key = str(body["chave"])
            except (KeyError, TypeError, ValueError, InvalidOperation):
                return _problem(400, "CobOperacaoInvalida", "valor.original, calendario.expiracao and chave")
            with self._lock:
                if txid in self._charges:
                    return _problem(409, "CobOperacaoInvalida", "txid already used")
                location_id = secrets.token_hex(16)
                location = f"{self.public_host}/qr/v2/{location_id}"
                cob: dict[str, Any] = {
                    "calendario": {"criacao": _now(), "expiracao": expires_in},
                    "txid": txid,
                    "revisao": 0,
                    "loc": {"id": location_id, "location": location},
                    "location": location,
                    "status": "ATIVA",
                    "valor": {"original": f"{amount:.2f}"},
                    "chave": key,
                }
                self._charges[txid] = cob
                self._locations[location_id] = txid
            return JSONResponse(cob, status_code=201)

        @app.put("/v2/webhook/{key}")
        async def webhook(key: str, request: Request) -> Any:
            bearer(request)
            url = (await request.json()).get("webhookUrl")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return _problem(400, "WebhookOperacaoInvalida", "webhookUrl")
            self.register_webhook(key, url)
            return {"webhookUrl": url, "chave": key, "criacao": _now()}

        @app.put("/v2/pix/{e2e}/devolucao/{refund_id}", status_code=201)
        async def refund(e2e: str, refund_id: str, request: Request) -> Any:
            bearer(request)
            valor = str((await request.json()).get("valor", ""))
            with self._lock:
                paid = any(p["endToEndId"] == e2e for c in self._charges.values() for p in c.get("pix", []))
                if not paid:
                    return _problem(404, "PixNaoEncontrado", "no such Pix")
                if refund_id in self._refunds:
                    return _problem(409, "DevolucaoOperacaoInvalida", "devolução id already used")
                asked = {
                    "id": refund_id,
                    "rtrId": f"D{ISPB}{secrets.token_hex(12)}",
                    "valor": valor,
                    "horario": {"solicitacao": _now()},
                    "status": "EM_PROCESSAMENTO",
                    "e2e": e2e,
                }
                self._refunds[refund_id] = asked
            if self.auto_refund:
                threading.Timer(1.0, self.settle_refund, args=(refund_id,)).start()
            return JSONResponse({k: v for k, v in asked.items() if k != "e2e"}, status_code=201)

        @app.get("/v2/pix/{e2e}/devolucao/{refund_id}")
        def read_refund(e2e: str, refund_id: str, request: Request) -> Any:
            bearer(request)
            found = self.refund_of(refund_id)
            if found is None or found["e2e"] != e2e:
                return _problem(404, "DevolucaoNaoEncontrada", "no such devolução")
            return {k: v for k, v in found.items() if k != "e2e"}

        @app.post("/bank/refunds/{refund_id}")
        def settle(refund_id: str, body: dict[str, Any]) -> Any:
            status = body.get("status", "DEVOLVIDO")
            if self.refund_of(refund_id) is None or status not in ("DEVOLVIDO", "NAO_REALIZADO"):
                return _problem(404, "DevolucaoNaoEncontrada", "no such devolução, or no such status")
            self.settle_refund(refund_id, status)
            return self.refund_of(refund_id)

        @app.get("/v2/cob/{txid}")
        def read(txid: str, request: Request) -> Any:
            bearer(request)
            found = self.charge(txid)
            return found if found else _problem(404, "CobNaoEncontrado", "no such charge")

        @app.get("/qr/v2/{location_id}")
        def location(location_id: str) -> Response:
            """What the payer's bank reads: the charge, signed by its provider."""
            with self._lock:
                cob = self._charges.get(self._locations.get(location_id, ""))
            if cob is None:
                raise HTTPException(404, "no such location")
            payload = {
                "revisao": cob["revisao"],
                "calendario": {**cob["calendario"], "apresentacao": _now()},
                "txid": cob["txid"],
                "status": cob["status"],
                "valor": cob["valor"],
                "chave": cob["chave"],
            }
            headers = {"jku": f"http://{self.public_host}/jwks.json", "kid": self._kid}
            signed = jwt.encode(payload, self._key, algorithm="ES256", headers=headers)
            return Response(signed, media_type="application/jose")

        @app.get("/jwks.json")
        def jwks() -> dict[str, Any]:
            public = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
            return {"keys": [{**public, "use": "sig", "alg": "ES256", "kid": self._kid}]}

        @app.get("/bank", response_class=HTMLResponse)
        def bank_page() -> str:
            return _BANK_PAGE

        @app.post("/bank/pay")
        def pay(body: dict[str, Any]) -> Any:
            """The developer's bank app pays what a BR Code asks for."""
            fields = _emv(str(body.get("pix_copia_e_cola", "")).strip())
            url = _emv(fields.get("26", "")).get("25", "")
            with self._lock:
                txid = self._locations.get(url.rsplit("/", 1)[-1], "")
                cob = self._charges.get(txid)
                if cob is None:
                    return _problem(404, "CobNaoEncontrado", "this BR Code names no charge here")
                if cob["status"] != "ATIVA":
                    return _problem(409, "CobOperacaoInvalida", f"the charge is {cob['status']}")
                cob["status"] = "CONCLUIDA"
                end_to_end = f"E{ISPB}{datetime.now(UTC):%Y%m%d%H%M}{secrets.token_hex(6)[:11]}"
                valor = str(body.get("valor") or cob["valor"]["original"])
                paid = {
                    "endToEndId": end_to_end,
                    "txid": txid,
                    "chave": cob["chave"],
                    "valor": valor,
                    "horario": _now(),
                }
                cob["pix"] = [paid]
            self._notify(cob["chave"], paid)
            return paid

        return app


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(status: int, kind: str, detail: str) -> JSONResponse:
    """An error as the API Pix answers it (RFC 7807)."""
    body = {"type": f"https://pix.bcb.gov.br/api/v2/error/{kind}", "title": kind, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


_BANK_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Banco local — Pix</title></head>
<body>
<h1>Banco local: pagar com Pix</h1>
<p>Cole o código "Pix copia e cola" do e-mail ou da página de pagamento.</p>
<form id="pay"><textarea name="code" rows="6" cols="80" required></textarea><br>
<button type="submit">Pagar</button></form>
<pre id="result"></pre>
<script>
document.getElementById("pay").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = new FormData(event.target).get("code");
  const answer = await fetch("/bank/pay", {method: "POST", headers: {"content-type": "application/json"},
                                           body: JSON.stringify({pix_copia_e_cola: code})});
  document.getElementById("result").textContent = JSON.stringify(await answer.json(), null, 2);
});
</script>
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--public-host", default=None, help="host:port a payer's bank reaches it at")
    parser.add_argument("--client-id", default="local")
    parser.add_argument("--client-secret", default=LOCAL_PIX_SECRET)
    parser.add_argument(
        "--webhook", action="append", default=[], metavar="KEY=URL", help="a webhook registered at start-up"
    )
    args = parser.parse_args()
    provider = PixProvider(args.host, args.port, args.client_id, args.client_secret, args.public_host)
    for registered in args.webhook:
        key, _, url = registered.partition("=")
        provider.register_webhook(key, url)
    uvicorn.run(provider.app, host=provider.host, port=provider.port)


if __name__ == "__main__":
    main()
