"""Each payment code is a Pix charge at the provider (the local one, over real HTTP), and
its BR Code is what any bank app reads: as text, or from its QR, which zxing-cpp (a
decoder that is not ours) reads back from the PNG."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from pytlv_codec import Codec, CodecConfig

from app.adapters.pix_api import ApiPix
from app.bootstrap import bootstrap
from app.config import PagamentoSettings
from app.domain.pix import PixProviderError
from mercado_devtools.pix_provider import PixProvider
from mercado_devtools.processes import free_port
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.contracts import Envelope, GeneratePaymentCode
from mercado_shared.runtime import app_runtime
from tests.conftest import PIX_SECRET, PIX_WEBHOOK_SECRET, SERVICE_DIR, TTL, Client

EMV = Codec(CodecConfig(tag_size=2, length_size=2))


def location_of(br_code: str) -> str:
    return str(EMV.decode(EMV.decode(br_code)["26"])["25"])


def test_a_code_is_a_charge_at_the_provider_whose_br_code_leads_to_it(
    client: Client, pix_provider: PixProvider
) -> None:
    code, buyer = client.new_code("45900.10")
    read = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()
    charge = pix_provider.charge(code["code"])  # the txid is the code
    assert charge is not None and charge["status"] == "ATIVA"
    assert (charge["valor"]["original"], charge["calendario"]["expiracao"]) == ("45900.10", TTL)
    assert location_of(read["pix_copia_e_cola"]) == charge["loc"]["location"]
    # What the payer's bank does with it: fetch the location, check the provider's signature.
    fetched = httpx.get(f"http://{location_of(read['pix_copia_e_cola'])}")
    assert fetched.headers["content-type"] == "application/jose"
    keys = jwt.PyJWKClient(jwt.get_unverified_header(fetched.text)["jku"])
    signed = jwt.decode(fetched.text, keys.get_signing_key_from_jwt(fetched.text), algorithms=["ES256"])
    assert (signed["txid"], signed["valor"]["original"], signed["status"]) == (code["code"], "45900.10", "ATIVA")


def test_the_qr_is_the_br_code_as_png_and_svg_for_the_buyer_and_staff_only(client: Client) -> None:
    code, buyer = client.new_code()
    br_code = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["pix_copia_e_cola"]
    png = client.http.get(f"/payment-codes/{code['code']}/qr.png", headers=buyer)
    assert png.headers["content-type"] == "image/png"
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert (found.format, found.text) == (zxingcpp.BarcodeFormat.QRCode, br_code)
    svg = client.http.get(f"/payment-codes/{code['code']}/qr.svg", headers=client.tokens.staff())
    assert svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 (the service's own)
    for path in (f"/payment-codes/{code['code']}/qr.png", f"/payment-codes/{code['code']}/qr.svg"):
        other = client.http.get(path, headers=client.tokens.headers())
        assert (other.status_code, other.json()["detail"]["code"]) == (404, "PAYMENT_CODE_NOT_FOUND")
        assert client.http.get(path).status_code == 401
    assert client.http.get(f"/payment-codes/{code['code']}/qr.gif", headers=buyer).status_code == 422


def test_a_command_delivered_again_is_the_same_code_and_the_same_charge(
    client: Client, pix_provider: PixProvider
) -> None:
    command = GeneratePaymentCode(transaction_id=str(uuid.uuid4()), customer_id=str(uuid.uuid4()), amount=Decimal("10"))
    bus = app_runtime(client.http.app).bus
    bus.handle(Envelope.wrap(command))
    bus.handle(Envelope.wrap(command))  # another delivery of the same command: a new envelope
    uow = app_runtime(client.http.app).uow_factory()
    with uow:
        code = uow.codes.for_transaction(command.transaction_id)
    assert code is not None and code.pix_location == pix_provider.charge(code.code)["loc"]["location"]  # type: ignore[index]


def test_the_same_txid_asked_twice_is_one_charge_and_another_amount_under_it_is_refused(
    pix_provider: PixProvider,
) -> None:
    provider = ApiPix(pix_provider.url, "pagamento-tests", PIX_SECRET, "pix@example.com")
    txid = "MV" + uuid.uuid4().hex[:24].upper()
    first = provider.create_charge(txid, Decimal("99.90"), 60)
    assert provider.create_charge(txid, Decimal("99.90"), 60) == first
    with pytest.raises(PixProviderError, match="another charge"):
        provider.create_charge(txid, Decimal("99.91"), 60)


def test_a_provider_that_refuses_or_is_away_creates_no_code(
    migrated_database: object, emulator_host: str, project_id: str, pix_provider: PixProvider
) -> None:
    """The command fails, so it is delivered again; nothing was kept meanwhile."""
    for url, secret in ((pix_provider.url, "not-the-secret"), (f"http://127.0.0.1:{free_port()}", PIX_SECRET)):
        settings = PagamentoSettings(
            environment="test",
            database_url=migrated_database(SERVICE_DIR),  # type: ignore[operator]
            pubsub_project_id=project_id,
            pix_api_url=url,
            pix_client_id="pagamento-tests",
            pix_client_secret=secret,
        )
        with TestClient(bootstrap(settings, key_source=TestTokens().key_source())) as http:
            command = GeneratePaymentCode(
                transaction_id=str(uuid.uuid4()), customer_id=str(uuid.uuid4()), amount=Decimal("10")
            )
            with pytest.raises(PixProviderError):
                app_runtime(http.app).bus.handle(Envelope.wrap(command))
            uow = app_runtime(http.app).uow_factory()
            with uow:
                assert uow.codes.for_transaction(command.transaction_id) is None


def paid_at_the_bank(pix_provider: PixProvider, br_code: str, valor: str | None = None) -> dict[str, Any]:
    """The buyer's bank pays the BR Code; what the provider then notifies, one Pix."""
    answer = httpx.post(f"{pix_provider.url}/bank/pay", json={"pix_copia_e_cola": br_code, "valor": valor})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def notify(client: Client, *received: dict[str, Any], secret: str = PIX_WEBHOOK_SECRET) -> Any:
    """As Efí posts it: the URL registered with its secret, "/pix" appended into "ignorar"."""
    return client.http.post(f"/webhooks/pix?hmac={secret}&ignorar=/pix", json={"pix": list(received)})


def test_a_pix_received_pays_its_code_once_whatever_the_provider_repeats(
    client: Client, pix_provider: PixProvider
) -> None:
    code, buyer = client.new_code("45900.10")
    br_code = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["pix_copia_e_cola"]
    paid = paid_at_the_bank(pix_provider, br_code)
    assert (paid["txid"], paid["valor"]) == (code["code"], "45900.10")
    first = notify(client, paid)
    assert first.status_code == 200
    assert first.json() == {"pix": [{"endToEndId": paid["endToEndId"], "outcome": "PAID", "refunded": False}]}
    again = notify(client, paid, paid)
    assert [p["outcome"] for p in again.json()["pix"]] == ["ALREADY_PAID", "ALREADY_PAID"]
    read = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()
    assert read["status"] == "PAID"
    assert client.published("events.payment.processed", code["transaction_id"]) == 1
    another = {**paid, "endToEndId": "E" + "9" * 31}  # a second Pix for the same charge
    assert notify(client, another).json()["pix"][0]["outcome"] == "PAYMENT_CODE_ALREADY_PAID"


def test_a_pix_of_another_amount_settles_nothing_and_is_kept_for_staff(
    client: Client, pix_provider: PixProvider
) -> None:
    code, buyer = client.new_code("45900.10")
    br_code = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["pix_copia_e_cola"]
    paid = paid_at_the_bank(pix_provider, br_code, valor="4590.01")
    assert notify(client, paid).json()["pix"][0]["outcome"] == "AMOUNT_MISMATCH"
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "PENDING"
    assert client.published("events.payment.processed", code["transaction_id"]) == 0
    [kept] = client.http.get("/payment-discrepancies", headers=client.tokens.staff()).json()["discrepancies"][:1]
    assert (kept["payment_code"], kept["notified_amount"]) == (code["code"], 4590.01)


def test_the_webhook_takes_only_what_carries_its_secret_and_is_shaped_as_the_api_pix(client: Client) -> None:
    code, _ = client.new_code()
    received = {
        "endToEndId": "E" + "1" * 31,
        "txid": code["code"],
        "valor": code["amount"],
        "horario": "2026-12-01T18:00:00Z",
    }
    for secret in ("", "not-the-secret", PIX_WEBHOOK_SECRET + "x"):
        refused = notify(client, received, secret=secret)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (401, "INVALID_SIGNATURE")
    assert client.http.post("/webhooks/pix", json={"pix": [received]}).status_code == 401
    hook = f"/webhooks/pix?hmac={PIX_WEBHOOK_SECRET}"
    for body in ({"pix": [{**received, "endToEndId": "short"}]}, {"pix": [{**received, "valor": "1.234"}]}, [1]):
        bad = client.http.post(hook, json=body)
        assert (bad.status_code, bad.json()["detail"]["code"]) == (422, "INVALID_BODY"), body
    assert client.http.post(hook, json={"evento": "teste_webhook"}).json() == {"pix": []}  # Efí's registration test
    unknown = {**received, "txid": "MV" + "A" * 24}
    assert notify(client, unknown).json()["pix"][0]["outcome"] == "PAYMENT_CODE_NOT_FOUND"


def paid_by_pix(client: Client, pix_provider: PixProvider) -> tuple[dict[str, Any], dict[str, str], str]:
    """A code paid at the bank and notified: the code, its buyer's headers, its payment's id."""
    code, buyer = client.new_code("45900.10")
    br_code = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["pix_copia_e_cola"]
    assert notify(client, paid_at_the_bank(pix_provider, br_code)).json()["pix"][0]["outcome"] == "PAID"
    with app_runtime(client.http.app).uow_factory() as uow:
        payment = uow.payments.for_code(code["code"])
        assert payment is not None
        return code, buyer, payment.id


def refund_id(code: dict[str, Any], attempt: int) -> str:
    return f"D{code['transaction_id'].replace('-', '')}{attempt}"


@pytest.fixture
def refunds_wait(pix_provider: PixProvider) -> Iterator[PixProvider]:
    """The provider settles a devolução only when the test says so."""
    pix_provider.auto_refund = False
    try:
        yield pix_provider
    finally:
        pix_provider.auto_refund = True


def test_a_pix_is_refunded_by_a_devolucao_done_only_when_the_provider_confirms_it(
    client: Client, refunds_wait: PixProvider
) -> None:
    code, buyer, payment_id = paid_by_pix(client, refunds_wait)
    client.refund(code)
    client.refund(code)  # the saga's deadline sends it again: the same devolução, read back
    asked = refunds_wait.refund_of(refund_id(code, 1))
    assert asked is not None and (asked["status"], asked["valor"]) == ("EM_PROCESSAMENTO", "45900.10")
    assert refunds_wait.refund_of(refund_id(code, 2)) is None
    assert client.http.get(f"/payments/{payment_id}", headers=buyer).json()["status"] == "REFUNDING"
    assert client.published("events.payment.refunded", code["transaction_id"]) == 0  # not yet

    refunds_wait.settle_refund(refund_id(code, 1))
    [notified] = refunds_wait.charge(code["code"])["pix"]  # type: ignore[index]
    assert notify(client, notified).json()["pix"][0]["refunded"] is True
    assert notify(client, notified).json()["pix"][0]["refunded"] is False  # once
    assert client.http.get(f"/payments/{payment_id}", headers=buyer).json()["status"] == "REFUNDED"
    assert client.published("events.payment.refunded", code["transaction_id"]) == 1


def test_a_devolucao_the_provider_refuses_is_asked_again_then_left_to_staff(
    client: Client, refunds_wait: PixProvider
) -> None:
    code, buyer, payment_id = paid_by_pix(client, refunds_wait)
    client.refund(code)
    for attempt in (1, 2, 3):
        refunds_wait.settle_refund(refund_id(code, attempt), "NAO_REALIZADO")
        client.refund(code)  # sent again: it reads the refusal and asks the next, or staff
    assert refunds_wait.refund_of(refund_id(code, 4)) is None  # three at most
    stuck = client.http.get("/payment-refunds/stuck", headers=client.tokens.staff()).json()
    assert [p["id"] for p in stuck["payments"]] == [payment_id]
    assert client.http.get("/payment-refunds/stuck", headers=buyer).status_code == 403
    assert client.published("events.payment.refunded", code["transaction_id"]) == 0
    returned = client.http.post(f"/payments/{payment_id}/returned", headers=client.tokens.staff())
    assert (returned.status_code, returned.json()["status"]) == (200, "REFUNDED")
    assert client.published("events.payment.refunded", code["transaction_id"]) == 1
    again = client.http.post(f"/payments/{payment_id}/returned", headers=client.tokens.staff())
    assert (again.status_code, again.json()["detail"]["code"]) == (409, "REFUND_NOT_STUCK")
    assert client.http.get("/payment-refunds/stuck", headers=client.tokens.staff()).json() == {"payments": []}
