"""A session ended in cliente-service ends in every service: a new password or an erasure
makes the customer's older tokens useless everywhere, within one broker hop."""

from __future__ import annotations

import re

from mercado_devtools.testing.helpers import eventually
from tests.e2e.conftest import Api

PASSWORD = "a-long-passphrase"


def calls(api: Api, headers: dict[str, str]) -> dict[str, int]:
    """One authenticated call per service; what each answers with this token."""
    return {
        "cliente-service": api.client.get(api.url("cliente-service", "/customers/me"), headers=headers).status_code,
        "orquestrador": api.client.get(api.url("orquestrador", "/purchases"), headers=headers).status_code,
        "pagamento-service": api.client.get(
            api.url("pagamento-service", "/payment-codes/MVNOSUCHCODE"), headers=headers
        ).status_code,
        "veiculo-service": api.client.post(
            api.url("veiculo-service", "/vehicles"), json={}, headers=headers
        ).status_code,
    }


def ended_everywhere(api: Api, headers: dict[str, str]) -> None:
    def check() -> None:
        assert set(calls(api, headers).values()) == {401}, calls(api, headers)

    eventually(check, timeout=20)


def test_a_new_password_ends_the_old_sessions_in_every_service(api: Api) -> None:
    customer, old = api.new_customer(balance=0)
    assert calls(api, old) == {
        "cliente-service": 200,
        "orquestrador": 200,
        "pagamento-service": 404,
        "veiculo-service": 403,  # staff only
    }
    changed = api.client.patch(
        api.url("cliente-service", f"/customers/{customer['id']}"),
        json={"password": "a-brand-new-passphrase", "current_password": PASSWORD},
        headers=old,
    )
    assert changed.status_code == 200, changed.text
    ended_everywhere(api, old)
    fresh = api.login(customer["email"], "a-brand-new-passphrase")
    assert calls(api, fresh)["orquestrador"] == 200


def test_an_erasure_ends_the_customers_sessions_in_every_service(api: Api) -> None:
    customer, me = api.new_customer(balance=0)
    erased = api.client.delete(api.url("cliente-service", f"/customers/{customer['id']}"), headers=me)
    assert erased.status_code == 204, erased.text
    ended_everywhere(api, me)


def test_a_password_reset_by_email_ends_the_old_sessions_in_every_service(api: Api) -> None:
    customer, old = api.new_customer(balance=0)
    asked = api.client.post(api.url("cliente-service", "/auth/password-resets"), json={"email": customer["email"]})
    assert asked.status_code == 202
    [mail] = api.stack.mail.wait_for(customer["email"])  # over SMTP, from the service's own sender
    token = re.search(r"token=([A-Za-z0-9_-]+)", mail.get_content())
    assert token is not None
    reset = api.client.post(
        api.url("cliente-service", "/auth/password-resets/confirm"),
        json={"token": token.group(1), "password": "chosen-after-forgetting"},
    )
    assert reset.status_code == 204, reset.text
    ended_everywhere(api, old)
    api.login(customer["email"], "chosen-after-forgetting")
