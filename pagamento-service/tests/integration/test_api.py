"""pagamento-service's public API, rule by rule, over real PostgreSQL and the emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mercado_devtools.testing.helpers import TopicTap, eventually
from mercado_shared.contracts import PaymentProcessed
from tests.conftest import TTL, Client


def code_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


def test_the_buyer_and_staff_read_a_code_nobody_else_does(client: Client) -> None:
    code, buyer = client.new_code()
    read = client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()
    assert (read["status"], read["amount"], read["transaction_id"]) == ("PENDING", 45900.10, code["transaction_id"])
    assert client.http.get(f"/payment-codes/{code['code']}", headers=client.tokens.staff()).status_code == 200
    other = client.http.get(f"/payment-codes/{code['code']}", headers=client.tokens.headers())
    assert code_of(other) == (404, "PAYMENT_CODE_NOT_FOUND")
    assert client.http.get(f"/payment-codes/{code['code']}").status_code == 401


def test_paying_a_code_records_the_payment_and_tells_the_saga(client: Client, project_id: str) -> None:
    tap = TopicTap(project_id, PaymentProcessed.TYPE)
    try:
        code, buyer = client.new_code()
        paid = client.pay(code["code"], buyer)
        assert paid.status_code == 201, paid.text
        payment = paid.json()
        assert (payment["status"], payment["amount"], payment["payment_code"]) == ("COMPLETED", 45900.10, code["code"])
        [event] = eventually(lambda: tap.expect(1))
        assert event.open() == PaymentProcessed(
            transaction_id=code["transaction_id"],
            payment_id=payment["id"],
            payment_code=code["code"],
            amount=Decimal("45900.10"),
        )
    finally:
        tap.close()
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "PAID"
    assert client.http.get(f"/payments/{payment['id']}", headers=buyer).json()["status"] == "COMPLETED"
    assert client.http.get(f"/payments/{payment['id']}", headers=client.tokens.headers()).status_code == 404


def test_a_code_is_paid_once(client: Client) -> None:
    code, buyer = client.new_code()
    assert client.pay(code["code"], buyer).status_code == 201
    assert code_of(client.pay(code["code"], buyer)) == (409, "PAYMENT_CODE_ALREADY_PAID")
    assert code_of(client.pay(code["code"], client.tokens.staff())) == (409, "PAYMENT_CODE_ALREADY_PAID")


def test_unknown_and_foreign_codes_are_404(client: Client) -> None:
    code, _ = client.new_code()
    assert code_of(client.pay("MVNOSUCHCODE", client.tokens.staff())) == (404, "PAYMENT_CODE_NOT_FOUND")
    assert code_of(client.pay(code["code"], client.tokens.headers())) == (404, "PAYMENT_CODE_NOT_FOUND")


def test_a_code_expires_at_its_deadline(client: Client) -> None:
    code, buyer = client.new_code()
    client.clock.advance(seconds=TTL - 1)
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "PENDING"
    client.clock.advance(seconds=1)
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "EXPIRED"
    assert code_of(client.pay(code["code"], buyer)) == (410, "PAYMENT_CODE_EXPIRED")


def test_a_cancelled_purchase_cannot_be_paid(client: Client) -> None:
    code, buyer = client.new_code()
    client.refund(code)
    assert code_of(client.pay(code["code"], buyer)) == (409, "PAYMENT_CODE_CANCELLED")
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "CANCELLED"


def test_a_refund_after_payment_shows_refunded(client: Client) -> None:
    code, buyer = client.new_code()
    payment = client.pay(code["code"], buyer).json()
    client.refund(code)
    assert client.http.get(f"/payments/{payment['id']}", headers=buyer).json()["status"] == "REFUNDED"


@pytest.mark.parametrize("method", ["card", "", None])
def test_only_pix_is_accepted(client: Client, method: Any) -> None:
    code, buyer = client.new_code()
    response = client.http.post(
        "/payments", json={"payment_code": code["code"], "payment_method": method}, headers=buyer
    )
    assert response.status_code == 422


# ------------------------------------------------------------------ the provider's webhook
def test_the_webhook_pays_a_code_and_a_repeat_returns_the_same_payment(client: Client) -> None:
    code, buyer = client.new_code()
    first = client.notify(code)
    assert first.status_code == 201, first.text
    again = client.notify(code)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert code_of(client.pay(code["code"], buyer)) == (409, "PAYMENT_CODE_ALREADY_PAID")


def test_the_webhook_refuses_what_the_provider_did_not_sign(client: Client) -> None:
    code, _ = client.new_code()
    body = {"payment_code": code["code"], "payment_method": "pix", "amount": 45900.10}
    now = int(client.clock().timestamp())
    assert code_of(client.webhook(body, secret="another-secret-entirely-32-chars!!")) == (401, "INVALID_SIGNATURE")
    assert code_of(client.webhook(body, at=now - 301)) == (401, "INVALID_SIGNATURE")  # a replay, too late
    assert code_of(client.webhook(body, at=now + 301)) == (401, "INVALID_SIGNATURE")
    unsigned = client.http.post("/webhooks/psp", json=body)
    assert code_of(unsigned) == (401, "INVALID_SIGNATURE")
    signed = client.webhook(body)
    tampered = client.http.post(
        "/webhooks/psp",
        content=b'{"payment_code": "MVOTHER", "payment_method": "pix", "amount": 45900.10}',
        headers={"X-PSP-Signature": signed.request.headers["X-PSP-Signature"], "content-type": "application/json"},
    )
    assert code_of(tampered) == (401, "INVALID_SIGNATURE")


def test_the_webhook_answers_like_post_payments(client: Client) -> None:
    unknown = {"code": "MVNOSUCHCODE", "amount": "1.00"}
    assert code_of(client.notify(unknown)) == (404, "PAYMENT_CODE_NOT_FOUND")
    assert code_of(client.webhook(None, raw=b"not json")) == (422, "INVALID_BODY")
    code, _ = client.new_code()
    client.clock.advance(seconds=TTL)
    assert code_of(client.notify(code)) == (410, "PAYMENT_CODE_EXPIRED")


# ------------------------------------------------------------------ the amount the provider took
def test_a_notification_of_another_amount_pays_nothing_and_is_kept_for_staff(client: Client) -> None:
    code, buyer = client.new_code("45900.10")
    for paid in (4590.01, 45900.11, 4590.01):  # the last one is the provider retrying the first
        assert code_of(client.notify(code, paid)) == (422, "AMOUNT_MISMATCH")
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "PENDING"
    assert client.published(PaymentProcessed.TYPE, code["transaction_id"]) == 0
    listed = client.http.get("/payment-discrepancies", headers=client.tokens.staff()).json()["discrepancies"]
    mine = sorted(
        (d["notified_amount"], d["notifications"], d["expected_amount"], d["transaction_id"], d["customer_id"])
        for d in listed
        if d["payment_code"] == code["code"]
    )
    assert mine == [
        (4590.01, 2, 45900.10, code["transaction_id"], code["customer_id"]),
        (45900.11, 1, 45900.10, code["transaction_id"], code["customer_id"]),
    ]
    paid = client.notify(code)  # the right amount still pays the code
    assert (paid.status_code, paid.json()["amount"]) == (201, 45900.10)
    assert client.published(PaymentProcessed.TYPE, code["transaction_id"]) == 1


def test_an_amount_is_compared_by_value_not_by_how_it_is_written(client: Client) -> None:
    code, _ = client.new_code("45900.10")
    assert client.notify(code, "45900.1").status_code == 201


def test_a_paid_code_notified_again_with_another_amount_is_recorded_not_answered_as_paid(client: Client) -> None:
    code, buyer = client.new_code("100.00")
    payment = client.pay(code["code"], buyer).json()
    assert code_of(client.notify(code, 200.0)) == (422, "AMOUNT_MISMATCH")
    listed = client.http.get("/payment-discrepancies", headers=client.tokens.staff()).json()["discrepancies"]
    assert [d["notified_amount"] for d in listed if d["payment_code"] == code["code"]] == [200.0]
    assert client.http.get(f"/payments/{payment['id']}", headers=buyer).json()["amount"] == 100.0
    assert client.published(PaymentProcessed.TYPE, code["transaction_id"]) == 1


@pytest.mark.parametrize("amount", [None, -1, "١٠٠.٠٠", 100.001, True, "cem"])
def test_a_notification_without_a_plain_amount_is_refused_as_a_bad_body(client: Client, amount: Any) -> None:
    code, buyer = client.new_code("100.00")
    body = {"payment_code": code["code"], "payment_method": "pix"}
    if amount is not None:
        body["amount"] = amount
    assert code_of(client.webhook(body)) == (422, "INVALID_BODY")
    assert client.http.get(f"/payment-codes/{code['code']}", headers=buyer).json()["status"] == "PENDING"


def test_discrepancies_are_for_staff_and_paged_newest_first(client: Client) -> None:
    codes = [client.new_code("10.00")[0] for _ in range(3)]
    for n, code in enumerate(codes):
        client.clock.advance(seconds=1)
        assert code_of(client.notify(code, 11 + n)) == (422, "AMOUNT_MISMATCH")
    _, buyer = client.new_code()
    assert client.http.get("/payment-discrepancies", headers=buyer).status_code == 403
    assert client.http.get("/payment-discrepancies").status_code == 401
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.http.get("/payment-discrepancies", params=params, headers=client.tokens.staff()).json()
        seen += [d["payment_code"] for d in page["discrepancies"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    mine = [c for c in seen if c in {code["code"] for code in codes}]
    assert mine == [code["code"] for code in reversed(codes)]
    assert len(seen) == len(set(seen))


def test_text_with_a_nul_character_is_refused_not_a_server_error(client: Client) -> None:
    _, buyer = client.new_code()
    for response in (
        client.pay("MV\u0000", buyer),
        client.http.get("/payment-codes/MV%00", headers=buyer),
        client.webhook({"payment_code": "\u0000", "payment_method": "pix", "amount": 1}),
    ):
        assert code_of(response) == (422, "INVALID_CHARACTER")


def test_a_body_that_does_not_parse_is_a_4xx_with_a_stable_shape(client: Client) -> None:
    _, buyer = client.new_code()
    headers = {**buyer, "content-type": "application/json"}
    not_json = client.http.post("/payments", content=b"{not json", headers=headers)
    assert not_json.status_code == 422 and not_json.json()["detail"][0]["type"] == "json_invalid"
    not_utf8 = client.http.post("/payments", content=b"\xc3\x28", headers=headers)
    assert code_of(not_utf8) == (400, "MALFORMED_BODY")


def test_an_oversized_body_is_413_declared_or_streamed(client: Client) -> None:
    _, buyer = client.new_code()
    big = b'{"payment_code": "' + b"x" * 70_000 + b'", "payment_method": "pix"}'
    declared = client.http.post("/payments", content=big, headers={**buyer, "content-type": "application/json"})
    assert code_of(declared) == (413, "BODY_TOO_LARGE")
    streamed = client.http.post(
        "/payments", content=iter([big[:40_000], big[40_000:]]), headers={**buyer, "content-type": "application/json"}
    )
    assert code_of(streamed) == (413, "BODY_TOO_LARGE")
